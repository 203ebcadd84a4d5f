package netmask

import (
	"errors"
	"testing"

	"github.com/dop251/goja"
)

func newJS(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	if err := rt.Set("Netmask", New(rt)); err != nil {
		t.Fatal(err)
	}
	return rt
}

func runJS(t testing.TB, rt *goja.Runtime, src string) goja.Value {
	t.Helper()
	v, err := rt.RunString(src)
	if err != nil {
		t.Fatalf("%s\n-> %v", src, err)
	}
	return v
}

func TestJSNetmask(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		{`var n = new Netmask('192.168.1.0/24');
		  [n.base, n.mask, n.bitmask, n.hostmask, n.broadcast, n.size, n.first, n.last].join(' ')`,
			"192.168.1.0 255.255.255.0 24 0.0.0.255 192.168.1.255 256 192.168.1.1 192.168.1.254"},
		{`typeof n.bitmask + ' ' + typeof n.size + ' ' + typeof n.base`, "number number string"},
		{`n.contains('192.168.1.77') + ' ' + n.contains('192.168.2.1') + ' ' + n.contains('nope') + ' ' + n.contains()`, "true false false false"},
		{`n.contains(null) + ' ' + n.contains({}) + ' ' + n.contains('::1')`, "false false false"},
		{`n.toString() + ' ' + String(new Netmask('192.168.1.7/24')) + ' ' + new Netmask('192.168.1.7/24').base`, "192.168.1.0/24 192.168.1.7/24 192.168.1.0"},
		{`var z = new Netmask('0.0.0.0/0'); z.size + ' ' + (z.size === 4294967296) + ' ' + z.first + ' ' + z.last`, "4294967296 true 0.0.0.1 255.255.255.254"},
		{`var h = new Netmask('10.0.0.7'); [h.bitmask, h.size, h.first, h.last, h.base, h.toString()].join(' ')`, "32 1 10.0.0.7 10.0.0.7 10.0.0.7 10.0.0.7"},
		{`var p = new Netmask('10.0.0.7/31'); [p.size, p.first, p.last].join(' ')`, "2 10.0.0.7 10.0.0.6"},
		// Read-only properties; other properties can be added.
		{`n.base = 'x'; delete n.mask; n.base + ' ' + n.mask`, "192.168.1.0 255.255.255.0"},
		{`(function(){ 'use strict'; try { n.size = 1; return 'no' } catch (e) { return e instanceof TypeError } })()`, "true"},
		{`n.note = 'lan'; n.note + ' ' + Object.keys(n).join()`, "lan base,mask,bitmask,hostmask,broadcast,size,first,last,note"},
		{`JSON.stringify(new Netmask('1.2.3.4/30'))`, `{"base":"1.2.3.4","mask":"255.255.255.252","bitmask":30,"hostmask":"0.0.0.3","broadcast":"1.2.3.7","size":4,"first":"1.2.3.5","last":"1.2.3.6"}`},
		// Class shape.
		{`n instanceof Netmask`, "true"},
		{`Netmask.name + ' ' + Netmask.length + ' ' + Netmask.prototype.contains.length`, "Netmask 1 1"},
		{`Netmask('10.0.0.0/8') instanceof Netmask`, "true"},
		{`class N extends Netmask {}; var s = new N('10.0.0.0/8'); (s instanceof N) + ' ' + s.contains('10.9.9.9')`, "true true"},
		{`n.hasOwnProperty('contains') + ' ' + n.hasOwnProperty('base')`, "false true"},
		// Errors.
		{`try { new Netmask('10.0.0.0/33') } catch (e) { (e instanceof Error) + ' ' + e.message }`, "true invalid CIDR notation"},
		{`try { new Netmask() } catch (e) { e.message }`, "invalid CIDR notation"},
		{`try { new Netmask('::1/128') } catch (e) { e.message }`, "invalid CIDR notation"},
		{`try { Netmask.prototype.contains.call({}, '1.2.3.4') } catch (e) { e instanceof TypeError }`, "true"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s\n = %s\nwant %s", tc.src, got, tc.want)
		}
	}
	_, err := rt.RunString(`new Netmask('x')`)
	if !errors.Is(err, ErrInvalidCIDR) {
		t.Errorf("exception %v does not wrap ErrInvalidCIDR", err)
	}
	m, ok := FromValue(runJS(t, rt, `n`))
	if !ok || m.String() != "192.168.1.0/24" {
		t.Errorf("FromValue = %v, %v", m, ok)
	}
	if _, ok := FromValue(runJS(t, rt, `({})`)); ok {
		t.Error("FromValue({}) = ok")
	}
}

func TestDocs(t *testing.T) {
	documented := map[string]bool{}
	for _, g := range Docs {
		for _, e := range g.Entries {
			documented[e.Signature] = true
		}
	}
	for _, k := range keys {
		if !documented["netmask."+k] {
			t.Errorf("netmask.%s is not documented", k)
		}
	}
	for _, s := range []string{"new Netmask(cidr)", "netmask.contains(ip)", "netmask.toString()"} {
		if !documented[s] {
			t.Errorf("%s is not documented", s)
		}
	}
}
