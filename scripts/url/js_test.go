package url

import (
	"errors"
	"testing"

	"github.com/dop251/goja"
)

func newJS(t testing.TB) *goja.Runtime {
	t.Helper()
	rt := goja.New()
	if err := rt.Set("URL", New(rt)); err != nil {
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

func TestJSURL(t *testing.T) {
	rt := newJS(t)
	tests := []struct{ src, want string }{
		{`var u = new URL('https://u:p@example.com:8443/a/b?x=1&y=2#frag');
		  [u.protocol, u.auth, u.username, u.password, u.host, u.hostname, u.port, u.origin,
		   u.pathname, u.search, u.query, u.path, u.hash, u.href].join(' ')`,
			"https: u:p u p example.com:8443 example.com 8443 https://example.com:8443 /a/b ?x=1&y=2 x=1&y=2 /a/b?x=1&y=2 #frag https://u:p@example.com:8443/a/b?x=1&y=2#frag"},
		{`new URL('c/d?q', 'http://h.com/a/b').href`, "http://h.com/a/c/d?q"},
		{`var e = new URL('https://example.com'); [e.host, e.path, e.href, e.port].join(' ')`, "example.com / https://example.com/ 443"},
		{`new URL('/x', null).href + ' ' + new URL('/x', undefined).href`, "http:///x http:///x"},
		{`new URL('c', 'http://h/a/b').href`, "http://h/a/c"},
		{`new URL(42).pathname`, "42"},
		{`typeof u.port + typeof u.auth`, "stringstring"},
		// Read-only properties; other properties can be added.
		{`u.host = 'evil'; u.host`, "example.com:8443"},
		{`(function(){ 'use strict'; try { u.href = 'x'; return 'no' } catch (e) { return e instanceof TypeError } })()`, "true"},
		{`delete u.host; u.host`, "example.com:8443"},
		{`u.tag = 1; u.tag + ' ' + ('tag' in u) + ' ' + Object.keys(u).length`, "1 true 15"},
		{`delete u.tag; String(u.tag) + ' ' + Object.keys(u).length`, "undefined 14"},
		{`Object.keys(u).join()`, "protocol,auth,username,password,host,hostname,port,origin,pathname,search,query,path,hash,href"},
		{`JSON.stringify(new URL('http://h/p?q'))`, `{"protocol":"http:","auth":"","username":"","password":"","host":"h","hostname":"h","port":"80","origin":"http://h","pathname":"/p","search":"?q","query":"q","path":"/p?q","hash":"","href":"http://h/p?q"}`},
		// Class shape.
		{`u instanceof URL`, "true"},
		{`URL.name + ' ' + URL.length`, "URL 1"},
		{`String(u) + ' ' + ` + "`${new URL('http://h')}`", "https://u:p@example.com:8443/a/b?x=1&y=2#frag http://h/"},
		{`var v = URL('http://h/'); (v instanceof URL) + ' ' + v.href`, "true http://h/"},
		{`class V extends URL {}; var w = new V('http://h/w'); (w instanceof V) + ' ' + (w instanceof URL) + ' ' + w.pathname`, "true true /w"},
		{`u.hasOwnProperty('href') + ' ' + u.hasOwnProperty('toString')`, "true false"},
		// Errors.
		{`try { new URL() } catch (e) { (e instanceof TypeError) + ' ' + e.message }`, "true requires 1 or more arguments"},
		{`try { new URL('http://h/\r\n') } catch (e) { e.message }`, "invalid URL"},
		{`try { URL.prototype.toString.call({}) } catch (e) { e instanceof TypeError }`, "true"},
	}
	for _, tc := range tests {
		if got := runJS(t, rt, tc.src).String(); got != tc.want {
			t.Errorf("%s\n = %s\nwant %s", tc.src, got, tc.want)
		}
	}
	_, err := rt.RunString(`new URL('x', 'http://h/\n')`)
	if !errors.Is(err, ErrInvalidURL) {
		t.Errorf("exception %v does not wrap ErrInvalidURL", err)
	}
}

// TestJSExample010 mirrors the uses of URL in example 010-jwt.
func TestJSExample010(t *testing.T) {
	rt := newJS(t)
	got := runJS(t, rt, `
		var _url = new URL('https://127.0.0.1:6082/keys-2.json');
		[_url.path, _url.host, _url.href].join(' ')`).String()
	if want := "/keys-2.json 127.0.0.1:6082 https://127.0.0.1:6082/keys-2.json"; got != want {
		t.Errorf("got %s; want %s", got, want)
	}
}

func TestFromValue(t *testing.T) {
	rt := newJS(t)
	u, ok := FromValue(runJS(t, rt, `new URL('http://h:1/p')`))
	if !ok || u.Hostname != "h" || u.Port != "1" {
		t.Errorf("FromValue = %+v, %v", u, ok)
	}
	for _, src := range []string{`({})`, `'http://h/'`, `undefined`} {
		if _, ok := FromValue(runJS(t, rt, src)); ok {
			t.Errorf("FromValue(%s) = ok", src)
		}
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
		if !documented["url."+k] {
			t.Errorf("url.%s is not documented", k)
		}
	}
	for _, s := range []string{"new URL(url[, base])", "url.toString()"} {
		if !documented[s] {
			t.Errorf("%s is not documented", s)
		}
	}
}
