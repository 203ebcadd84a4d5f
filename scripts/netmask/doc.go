// Package netmask implements the script global `Netmask` (spec api.md §13):
// an IPv4 network given in CIDR notation.
//
// The package has two layers: the pure Go type [Netmask] with [Parse]
// (built on net/netip), and the goja binding [New], which returns the
// constructor a script sees as `Netmask`.
//
// Imports: the standard library, github.com/dop251/goja and
// github.com/pipy-go/pipy/scripts/apidoc only; the scripts package installs
// New(rt) as the global `Netmask`.
package netmask

import "github.com/pipy-go/pipy/scripts/apidoc"

// Docs documents the `Netmask` class for the generated API reference.
var Docs = []apidoc.Group{
	{
		Name: "Netmask",
		Doc: "An IPv4 network in CIDR notation. Properties are read-only; the examples are for `192.168.1.0/24`. " +
			"IPv6 is not supported.",
		Entries: []apidoc.Entry{
			{Signature: "new Netmask(cidr)", Doc: "parses `a.b.c.d/n` (0 ≤ n ≤ 32, one or two digits) or a bare `a.b.c.d` (= /32); " +
				"host bits may be set (`192.168.1.7/24` is the network 192.168.1.0/24). Anything else throws `invalid CIDR notation`."},
			{Signature: "netmask.base", Doc: "the network address (address & mask), `192.168.1.0`."},
			{Signature: "netmask.mask", Doc: "the network mask, `255.255.255.0`."},
			{Signature: "netmask.bitmask", Doc: "the prefix length as a number, `24`."},
			{Signature: "netmask.hostmask", Doc: "the inverse of the mask, `0.0.0.255`."},
			{Signature: "netmask.broadcast", Doc: "the last address of the network, `192.168.1.255`."},
			{Signature: "netmask.size", Doc: "the number of addresses 2^(32-n) as a number, `256` (4294967296 for /0, 1 for /32)."},
			{Signature: "netmask.first", Doc: "base + 1, `192.168.1.1`; the base for /32 (for /31, the broadcast address)."},
			{Signature: "netmask.last", Doc: "broadcast - 1, `192.168.1.254`; the base for /32 and /31."},
			{Signature: "netmask.contains(ip)", Doc: "true if ip (its string form) is a dotted-decimal IPv4 address inside the network, `true` for `192.168.1.77`; " +
				"false for anything else, including invalid addresses and IPv6."},
			{Signature: "netmask.toString()", Doc: "the CIDR string exactly as given to the constructor."},
		},
	},
}
