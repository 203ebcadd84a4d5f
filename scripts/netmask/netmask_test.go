package netmask

import (
	"errors"
	"testing"
)

type props struct {
	base, mask          string
	bitmask             int
	hostmask, broadcast string
	size                uint64
	first, last         string
}

func get(m *Netmask) props {
	return props{
		base: m.Base().String(), mask: m.Mask().String(), bitmask: m.Bitmask(),
		hostmask: m.Hostmask().String(), broadcast: m.Broadcast().String(),
		size: m.Size(), first: m.First().String(), last: m.Last().String(),
	}
}

var parseTests = []struct {
	cidr string
	want props
}{
	// The spec's example, also with host bits set.
	{"192.168.1.0/24", props{"192.168.1.0", "255.255.255.0", 24, "0.0.0.255", "192.168.1.255", 256, "192.168.1.1", "192.168.1.254"}},
	{"192.168.1.7/24", props{"192.168.1.0", "255.255.255.0", 24, "0.0.0.255", "192.168.1.255", 256, "192.168.1.1", "192.168.1.254"}},
	{"0.0.0.0/0", props{"0.0.0.0", "0.0.0.0", 0, "255.255.255.255", "255.255.255.255", 4294967296, "0.0.0.1", "255.255.255.254"}},
	{"10.1.2.3/0", props{"0.0.0.0", "0.0.0.0", 0, "255.255.255.255", "255.255.255.255", 4294967296, "0.0.0.1", "255.255.255.254"}},
	{"10.0.0.7/31", props{"10.0.0.6", "255.255.255.254", 31, "0.0.0.1", "10.0.0.7", 2, "10.0.0.7", "10.0.0.6"}},
	{"10.0.0.7/32", props{"10.0.0.7", "255.255.255.255", 32, "0.0.0.0", "10.0.0.7", 1, "10.0.0.7", "10.0.0.7"}},
	{"10.0.0.7", props{"10.0.0.7", "255.255.255.255", 32, "0.0.0.0", "10.0.0.7", 1, "10.0.0.7", "10.0.0.7"}},
	{"172.16.5.4/12", props{"172.16.0.0", "255.240.0.0", 12, "0.15.255.255", "172.31.255.255", 1 << 20, "172.16.0.1", "172.31.255.254"}},
	{"255.255.255.255/1", props{"128.0.0.0", "128.0.0.0", 1, "127.255.255.255", "255.255.255.255", 1 << 31, "128.0.0.1", "255.255.255.254"}},
	{"1.2.3.4/08", props{"1.0.0.0", "255.0.0.0", 8, "0.255.255.255", "1.255.255.255", 1 << 24, "1.0.0.1", "1.255.255.254"}},
	{"192.168.1.128/30", props{"192.168.1.128", "255.255.255.252", 30, "0.0.0.3", "192.168.1.131", 4, "192.168.1.129", "192.168.1.130"}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		m, err := Parse(tc.cidr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.cidr, err)
			continue
		}
		if got := get(m); got != tc.want {
			t.Errorf("Parse(%q) =\n  %+v\nwant\n  %+v", tc.cidr, got, tc.want)
		}
		if m.String() != tc.cidr {
			t.Errorf("Parse(%q).String() = %q", tc.cidr, m.String())
		}
		if p := m.Prefix(); p.Bits() != tc.want.bitmask || p.Addr().String() != tc.want.base {
			t.Errorf("Parse(%q).Prefix() = %v", tc.cidr, p)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", "/", "/24", "192.168.1.0/", "192.168.1.0/33", "192.168.1.0/-1", "192.168.1.0/+8",
		"192.168.1.0/008", "192.168.1.0/2 ", " 192.168.1.0/24", "192.168.1.0/24/", "192.168.1.0/a",
		"192.168.1", "192.168.1.256", "192.168.01.1", "1.2.3.4.5", "::1", "::ffff:1.2.3.4", "fe80::1/64",
		"localhost", "undefined", "1.2.3.4%eth0",
	} {
		if m, err := Parse(s); !errors.Is(err, ErrInvalidCIDR) || m != nil {
			t.Errorf("Parse(%q) = %v, %v; want ErrInvalidCIDR", s, m, err)
		}
	}
	if ErrInvalidCIDR.Error() != "invalid CIDR notation" {
		t.Errorf("ErrInvalidCIDR = %q", ErrInvalidCIDR)
	}
}

func TestContains(t *testing.T) {
	m, err := Parse("192.168.1.0/24")
	if err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]bool{
		"192.168.1.77": true, "192.168.1.0": true, "192.168.1.255": true,
		"192.168.2.1": false, "192.168.0.255": false, "10.0.0.1": false,
		"192.168.1": false, "192.168.1.256": false, "": false, "::ffff:192.168.1.77": false,
		"192.168.1.77/24": false, "x": false, " 192.168.1.77": false,
	} {
		if got := m.Contains(ip); got != want {
			t.Errorf("Contains(%q) = %v; want %v", ip, got, want)
		}
	}
	all, _ := Parse("0.0.0.0/0")
	if !all.Contains("255.255.255.255") || !all.Contains("0.0.0.0") || all.Contains("::") {
		t.Error("/0 Contains")
	}
	one, _ := Parse("10.0.0.7")
	if !one.Contains("10.0.0.7") || one.Contains("10.0.0.6") {
		t.Error("/32 Contains")
	}
}
