package url

import (
	"errors"
	"testing"
)

// want lists every property of a URL as a script sees it.
type want struct {
	protocol, auth, username, password, host, hostname, port, origin,
	pathname, search, query, path, hash, href string
}

func props(u *URL) want {
	return want{
		protocol: u.Protocol, auth: u.Auth, username: u.Username, password: u.Password,
		host: u.Host, hostname: u.Hostname, port: u.Port, origin: u.Origin(),
		pathname: u.Pathname, search: u.Search, query: u.Query(), path: u.Path(),
		hash: u.Hash, href: u.Href(),
	}
}

var parseTests = []struct {
	raw, base string
	want      want
}{
	// The spec's table example.
	{"https://u:p@example.com:8443/a/b?x=1&y=2#frag", "", want{
		protocol: "https:", auth: "u:p", username: "u", password: "p",
		host: "example.com:8443", hostname: "example.com", port: "8443",
		origin: "https://example.com:8443", pathname: "/a/b", search: "?x=1&y=2",
		query: "x=1&y=2", path: "/a/b?x=1&y=2", hash: "#frag",
		href: "https://u:p@example.com:8443/a/b?x=1&y=2#frag",
	}},
	// The spec's examples.
	{"https://example.com", "", want{
		protocol: "https:", host: "example.com", hostname: "example.com", port: "443",
		origin: "https://example.com", pathname: "/", path: "/", href: "https://example.com/",
	}},
	{"c/d?q", "http://h.com/a/b", want{
		protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/a/c/d", search: "?q", query: "q",
		path: "/a/c/d?q", href: "http://h.com/a/c/d?q",
	}},
	// Default ports.
	{"http://h", "", want{protocol: "http:", host: "h", hostname: "h", port: "80",
		origin: "http://h", pathname: "/", path: "/", href: "http://h/"}},
	{"ws://h/s", "", want{protocol: "ws:", host: "h", hostname: "h", port: "80",
		origin: "ws://h", pathname: "/s", path: "/s", href: "ws://h/s"}},
	{"wss://h/s", "", want{protocol: "wss:", host: "h", hostname: "h", port: "443",
		origin: "wss://h", pathname: "/s", path: "/s", href: "wss://h/s"}},
	{"HTTPS://H/", "", want{protocol: "HTTPS:", host: "H", hostname: "H", port: "443",
		origin: "HTTPS://H", pathname: "/", path: "/", href: "HTTPS://H/"}},
	{"ftp://h/f", "", want{protocol: "ftp:", host: "h", hostname: "h", port: "",
		origin: "ftp://h", pathname: "/f", path: "/f", href: "ftp://h/f"}},
	{"http://h:/", "", want{protocol: "http:", host: "h:", hostname: "h", port: "80",
		origin: "http://h:", pathname: "/", path: "/", href: "http://h:/"}},
	// No protocol.
	{"//h.com:81/x", "", want{protocol: "http:", host: "h.com:81", hostname: "h.com", port: "81",
		origin: "http://h.com:81", pathname: "/x", path: "/x", href: "http://h.com:81/x"}},
	{"/a/b?c", "", want{protocol: "http:", port: "80", origin: "http://",
		pathname: "/a/b", search: "?c", query: "c", path: "/a/b?c", href: "http:///a/b?c"}},
	{"", "", want{protocol: "http:", port: "80", origin: "http://", pathname: "/", path: "/", href: "http:///"}},
	// A "scheme:" without "//" has no host (as in the original).
	{"localhost:8080/x", "", want{protocol: "localhost:", pathname: "8080/x", path: "8080/x",
		origin: "localhost://", href: "localhost://8080/x"}},
	{"127.0.0.1:8080/x", "", want{protocol: "http:", port: "80", origin: "http://",
		pathname: "127.0.0.1:8080/x", path: "127.0.0.1:8080/x", href: "http://127.0.0.1:8080/x"}},
	{"mailto:a@b.c", "", want{protocol: "mailto:", pathname: "a@b.c", path: "a@b.c",
		origin: "mailto://", href: "mailto://a@b.c"}},
	// Extra slashes before the host are skipped.
	{"http:///h/x", "", want{protocol: "http:", host: "h", hostname: "h", port: "80",
		origin: "http://h", pathname: "/x", path: "/x", href: "http://h/x"}},
	// The host ends at '?' or '#' too.
	{"http://h.com?x=1#f", "", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/", search: "?x=1", query: "x=1", path: "/?x=1",
		hash: "#f", href: "http://h.com/?x=1#f"}},
	{"http://h.com#f?x", "", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/", path: "/", hash: "#f?x", href: "http://h.com/#f?x"}},
	// Hash at the first '#', search at the first '?'; empty search and hash.
	{"http://h/p?a?b#c#d", "", want{protocol: "http:", host: "h", hostname: "h", port: "80",
		origin: "http://h", pathname: "/p", search: "?a?b", query: "a?b", path: "/p?a?b",
		hash: "#c#d", href: "http://h/p?a?b#c#d"}},
	{"http://h/p?#", "", want{protocol: "http:", host: "h", hostname: "h", port: "80",
		origin: "http://h", pathname: "/p", search: "?", path: "/p?", hash: "#", href: "http://h/p?#"}},
	// Userinfo.
	{"http://u@h/", "", want{protocol: "http:", auth: "u", username: "u", host: "h", hostname: "h",
		port: "80", origin: "http://h", pathname: "/", path: "/", href: "http://u@h/"}},
	{"http://u:p:q@x@h:1/", "", want{protocol: "http:", auth: "u:p:q@x", username: "u", password: "p:q@x",
		host: "h:1", hostname: "h", port: "1", origin: "http://h:1", pathname: "/", path: "/",
		href: "http://u:p:q@x@h:1/"}},
	{"http://:p@h/", "", want{protocol: "http:", auth: ":p", password: "p", host: "h", hostname: "h",
		port: "80", origin: "http://h", pathname: "/", path: "/", href: "http://:p@h/"}},
	// IPv6 literals.
	{"http://[::1]:8080/x", "", want{protocol: "http:", host: "[::1]:8080", hostname: "[::1]", port: "8080",
		origin: "http://[::1]:8080", pathname: "/x", path: "/x", href: "http://[::1]:8080/x"}},
	{"https://[fe80::1]/", "", want{protocol: "https:", host: "[fe80::1]", hostname: "[fe80::1]", port: "443",
		origin: "https://[fe80::1]", pathname: "/", path: "/", href: "https://[fe80::1]/"}},
	// No decoding, no dot-segment removal.
	{"http://h/a/../%41b?x=%20", "", want{protocol: "http:", host: "h", hostname: "h", port: "80",
		origin: "http://h", pathname: "/a/../%41b", search: "?x=%20", query: "x=%20",
		path: "/a/../%41b?x=%20", href: "http://h/a/../%41b?x=%20"}},
	// Base resolution.
	{"/x/y", "https://u@h.com:1/a/b?q#f", want{protocol: "https:", auth: "u", username: "u",
		host: "h.com:1", hostname: "h.com", port: "1", origin: "https://h.com:1",
		pathname: "/x/y", path: "/x/y", href: "https://u@h.com:1/x/y"}},
	{"", "http://h.com/a/b?q#f", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/a/b", search: "?q", query: "q", path: "/a/b?q",
		href: "http://h.com/a/b?q"}},
	{"?n", "http://h.com/a/b?q#f", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/a/b", search: "?n", query: "n", path: "/a/b?n",
		href: "http://h.com/a/b?n"}},
	{"#g", "http://h.com/a/b?q#f", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/a/b", search: "?q", query: "q", path: "/a/b?q",
		hash: "#g", href: "http://h.com/a/b?q#g"}},
	{"c", "http://h.com", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/c", path: "/c", href: "http://h.com/c"}},
	{"c", "http://h.com/a/", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/a/c", path: "/a/c", href: "http://h.com/a/c"}},
	{"../c#h", "http://h.com/a/b", want{protocol: "http:", host: "h.com", hostname: "h.com", port: "80",
		origin: "http://h.com", pathname: "/a/../c", path: "/a/../c", hash: "#h", href: "http://h.com/a/../c#h"}},
	// raw's protocol is dropped when it has no host.
	{"ws:x", "https://h.com/a/b", want{protocol: "https:", host: "h.com", hostname: "h.com", port: "443",
		origin: "https://h.com", pathname: "/a/x", path: "/a/x", href: "https://h.com/a/x"}},
	// A URL with a host ignores base.
	{"//o.com/p", "https://h.com/a/b", want{protocol: "http:", host: "o.com", hostname: "o.com", port: "80",
		origin: "http://o.com", pathname: "/p", path: "/p", href: "http://o.com/p"}},
	{"ws://o.com", "https://h.com/a/b", want{protocol: "ws:", host: "o.com", hostname: "o.com", port: "80",
		origin: "ws://o.com", pathname: "/", path: "/", href: "ws://o.com/"}},
	// A base without a host.
	{"c", "/a/b", want{protocol: "http:", port: "80", origin: "http://", pathname: "/a/c",
		path: "/a/c", href: "http:///a/c"}},
	{"c", "b", want{protocol: "http:", port: "80", origin: "http://", pathname: "b/c",
		path: "b/c", href: "http://b/c"}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseTests {
		u, err := Parse(tc.raw, tc.base)
		if err != nil {
			t.Errorf("Parse(%q, %q): %v", tc.raw, tc.base, err)
			continue
		}
		if got := props(u); got != tc.want {
			t.Errorf("Parse(%q, %q) =\n  %+v\nwant\n  %+v", tc.raw, tc.base, got, tc.want)
		}
		if u.String() != u.Href() {
			t.Errorf("String() = %q; want %q", u.String(), u.Href())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ raw, base string }{
		{"http://h/\r\nx: y", ""},
		{"http://h\n/", ""},
		{"\x00", ""},
		{"x", "http://h/\x7f"},
		{"http://h/\t", ""},
	} {
		if u, err := Parse(tc.raw, tc.base); !errors.Is(err, ErrInvalidURL) || u != nil {
			t.Errorf("Parse(%q, %q) = %v, %v; want ErrInvalidURL", tc.raw, tc.base, u, err)
		}
	}
	if ErrInvalidURL.Error() != "invalid URL" {
		t.Errorf("ErrInvalidURL = %q", ErrInvalidURL)
	}
}

func TestDefaultPort(t *testing.T) {
	for p, want := range map[string]string{
		"http:": "80", "ws:": "80", "https:": "443", "wss:": "443", "Wss:": "443",
		"ftp:": "", "": "", "http": "",
	} {
		if got := DefaultPort(p); got != want {
			t.Errorf("DefaultPort(%q) = %q; want %q", p, got, want)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("https://u:p@example.com:8443/a/b?x=1&y=2#frag", ""); err != nil {
			b.Fatal(err)
		}
	}
}
