package netmask

import (
	"errors"
	"net/netip"
	"strings"
)

// ErrInvalidCIDR is returned by [Parse] for anything but an IPv4 address
// with an optional "/n" suffix (0 <= n <= 32).
var ErrInvalidCIDR = errors.New("invalid CIDR notation")

// Netmask is an IPv4 network (spec api.md §13), e.g. 192.168.1.0/24.
type Netmask struct {
	cidr string     // as given to Parse
	base netip.Addr // the address given, masked
	bits int        // prefix length, 0-32
}

// Parse parses an IPv4 CIDR "a.b.c.d/n" (n from 0 to 32, one or two decimal
// digits) or a bare "a.b.c.d" (= /32). The address is in dotted-decimal form
// as accepted by [netip.ParseAddr] (four decimal octets, no leading zeros);
// host bits may be set ("192.168.1.7/24" is the network 192.168.1.0/24).
// Anything else, IPv6 included, returns [ErrInvalidCIDR].
func Parse(cidr string) (*Netmask, error) {
	addr, bits := cidr, 32
	if i := strings.IndexByte(cidr, '/'); i >= 0 {
		addr = cidr[:i]
		n := cidr[i+1:]
		if len(n) == 0 || len(n) > 2 {
			return nil, ErrInvalidCIDR
		}
		bits = 0
		for j := 0; j < len(n); j++ {
			if n[j] < '0' || n[j] > '9' {
				return nil, ErrInvalidCIDR
			}
			bits = bits*10 + int(n[j]-'0')
		}
		if bits > 32 {
			return nil, ErrInvalidCIDR
		}
	}
	ip, ok := parseIPv4(addr)
	if !ok {
		return nil, ErrInvalidCIDR
	}
	p, err := ip.Prefix(bits)
	if err != nil {
		return nil, ErrInvalidCIDR
	}
	return &Netmask{cidr: cidr, base: p.Addr(), bits: bits}, nil
}

// parseIPv4 parses a dotted-decimal IPv4 address (not IPv6, not
// IPv4-mapped IPv6).
func parseIPv4(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() {
		return netip.Addr{}, false
	}
	return ip, true
}

// String returns the CIDR exactly as given to Parse.
func (m *Netmask) String() string { return m.cidr }

// Prefix returns the network as a netip.Prefix (masked).
func (m *Netmask) Prefix() netip.Prefix { return netip.PrefixFrom(m.base, m.bits) }

// Bitmask returns the prefix length n.
func (m *Netmask) Bitmask() int { return m.bits }

func (m *Netmask) maskBits() uint32 {
	if m.bits == 0 {
		return 0
	}
	return ^uint32(0) << (32 - m.bits)
}

func (m *Netmask) baseBits() uint32 {
	b := m.base.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addr(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// Base returns the network address (the address given & mask).
func (m *Netmask) Base() netip.Addr { return m.base }

// Mask returns the network mask, e.g. 255.255.255.0 for /24.
func (m *Netmask) Mask() netip.Addr { return addr(m.maskBits()) }

// Hostmask returns the inverse of the mask, e.g. 0.0.0.255 for /24.
func (m *Netmask) Hostmask() netip.Addr { return addr(^m.maskBits()) }

// Broadcast returns the last address of the network (base | hostmask).
func (m *Netmask) Broadcast() netip.Addr { return addr(m.baseBits() | ^m.maskBits()) }

// Size returns the number of addresses, 2^(32-n): 4294967296 for /0, 1
// for /32.
func (m *Netmask) Size() uint64 { return 1 << (32 - m.bits) }

// First returns base + 1, or the base for /32 (as in the original:
// base | (hostmask & 1)). For /31 it is the broadcast address.
func (m *Netmask) First() netip.Addr {
	return addr(m.baseBits() | ^m.maskBits()&1)
}

// Last returns broadcast - 1, or the base for /32 (as in the original:
// base | (hostmask & (hostmask - 1))). For /31 it is the base, so First
// comes after Last.
func (m *Netmask) Last() netip.Addr {
	h := ^m.maskBits()
	return addr(m.baseBits() | h&(h-1))
}

// Contains reports whether ip, a dotted-decimal IPv4 address, is in the
// network; false for anything that is not a valid IPv4 address.
func (m *Netmask) Contains(ip string) bool {
	a, ok := parseIPv4(ip)
	return ok && m.ContainsAddr(a)
}

// ContainsAddr reports whether a is an IPv4 address in the network.
func (m *Netmask) ContainsAddr(a netip.Addr) bool {
	return a.Is4() && m.Prefix().Contains(a)
}
