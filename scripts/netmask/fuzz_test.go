package netmask

import (
	"net/netip"
	"testing"
)

// FuzzParse checks that Parse never panics, that it agrees with
// netip.ParsePrefix on what it accepts with a "/n", and that the derived
// addresses are consistent.
func FuzzParse(f *testing.F) {
	for _, tc := range parseTests {
		f.Add(tc.cidr, tc.want.first)
	}
	f.Add("::1/128", "::1")
	f.Add("1.2.3.4/33", "1.2.3.4")
	f.Fuzz(func(t *testing.T, cidr, ip string) {
		m, err := Parse(cidr)
		if err != nil {
			if m != nil {
				t.Fatalf("Parse(%q) returned a Netmask and %v", cidr, err)
			}
			return
		}
		if m.String() != cidr {
			t.Fatalf("Parse(%q).String() = %q", cidr, m.String())
		}
		if p, err := netip.ParsePrefix(cidr); err == nil {
			if p.Masked() != m.Prefix() {
				t.Fatalf("Parse(%q) = %v; netip says %v", cidr, m.Prefix(), p.Masked())
			}
		}
		n := m.Bitmask()
		if n < 0 || n > 32 || m.Size() != 1<<(32-n) {
			t.Fatalf("Parse(%q): bitmask %d size %d", cidr, n, m.Size())
		}
		for _, a := range []netip.Addr{m.Base(), m.Broadcast(), m.First(), m.Last()} {
			if !m.ContainsAddr(a) || !m.Contains(a.String()) {
				t.Fatalf("Parse(%q) does not contain its own address %v", cidr, a)
			}
		}
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() {
			if m.Contains(ip) != m.Prefix().Contains(a) {
				t.Fatalf("Parse(%q).Contains(%q) disagrees with netip", cidr, ip)
			}
		} else if m.Contains(ip) {
			t.Fatalf("Parse(%q).Contains(%q) = true for a non-IPv4 address", cidr, ip)
		}
	})
}
