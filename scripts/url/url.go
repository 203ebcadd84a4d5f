package url

import (
	"errors"
	"strings"
)

// ErrInvalidURL is returned by [Parse] for a URL or base containing an
// ASCII control character (U+0000-U+001F, U+007F). The original accepted
// them; they are refused here because a URL's host and path end up in
// request heads (e.g. `headers: { host: _url.host }`), where CR or LF would
// split the head.
var ErrInvalidURL = errors.New("invalid URL")

// URL is a parsed URL (spec api.md §12). All fields are as written in the
// input: nothing is percent-decoded, lower-cased or normalized, and dot
// segments are kept. Example for
// `https://u:p@example.com:8443/a/b?x=1&y=2#frag`:
//
//	Protocol "https:"            Auth "u:p", Username "u", Password "p"
//	Host "example.com:8443"      Hostname "example.com", Port "8443"
//	Pathname "/a/b"              Search "?x=1&y=2"  Hash "#frag"
//
// Query, Path, Origin and Href are derived (see their methods).
type URL struct {
	Protocol string // scheme + ":"; "http:" when the URL has none
	Auth     string // userinfo before '@' in the host part, "" if none
	Username string // Auth up to its first ':' (all of Auth without ':')
	Password string // Auth after its first ':', "" if none
	Host     string // hostname + (":" + port) as written, without userinfo
	Hostname string // Host without the port; an IPv6 literal keeps "[...]"
	Port     string // as written; if absent "80" (http:, ws:), "443" (https:, wss:) or ""
	Pathname string // never empty: "/" when the URL has no path
	Search   string // "?" + query, or "" when there is no '?'
	Hash     string // "#" + fragment, or "" when there is no '#'
}

// Query returns Search without its leading '?' ("" when there is none).
func (u *URL) Query() string {
	if u.Search == "" {
		return ""
	}
	return u.Search[1:]
}

// Path returns Pathname + Search, the request target of an HTTP request.
func (u *URL) Path() string { return u.Pathname + u.Search }

// Origin returns Protocol + "//" + Host.
func (u *URL) Origin() string { return u.Protocol + "//" + u.Host }

// Href returns the whole URL: Protocol + "//" + (Auth + "@" if Auth is not
// empty) + Host + Path + Hash.
func (u *URL) Href() string {
	var b strings.Builder
	b.Grow(len(u.Protocol) + 3 + len(u.Auth) + len(u.Host) + len(u.Pathname) + len(u.Search) + len(u.Hash))
	b.WriteString(u.Protocol)
	b.WriteString("//")
	if u.Auth != "" {
		b.WriteString(u.Auth)
		b.WriteByte('@')
	}
	b.WriteString(u.Host)
	b.WriteString(u.Pathname)
	b.WriteString(u.Search)
	b.WriteString(u.Hash)
	return b.String()
}

// String returns Href.
func (u *URL) String() string { return u.Href() }

// Parse parses raw, resolving it against base when base is not empty (an
// empty base means none). The parser is deliberately simple:
//
//   - The protocol is a leading scheme (a letter, then letters, digits,
//     '+', '-' or '.') followed by ':'. So "localhost:8080/x" has the
//     protocol "localhost:" and no host, exactly as in the original.
//   - A host exists only after "//" (any further slashes are skipped) and
//     ends at the first '/', '?' or '#'. Userinfo is what precedes its last
//     '@'; the port follows the first ':' (after "]" for "[v6]:port").
//   - The rest splits at the first '#' (Hash) and then at the first '?'
//     (Search); an empty pathname becomes "/".
//
// With a base, if raw has no host, the protocol and host (with userinfo)
// come from base (raw's own protocol, if any, is dropped) and the path is
// resolved:
//
//   - raw empty: base's pathname and search;
//   - raw's pathname empty (raw is "?query" and/or "#hash"): base's pathname,
//     raw's search if it has one, else base's; raw's hash;
//   - raw's pathname starting with '/': raw's path as is;
//   - otherwise raw's path appended to base's pathname up to (not including)
//     its last '/', joined with '/': `Parse("c/d?q", "http://h.com/a/b")` is
//     http://h.com/a/c/d?q.
//
// The only error is [ErrInvalidURL], for a control character in raw or base.
func Parse(raw, base string) (*URL, error) {
	if hasControl(raw) || hasControl(base) {
		return nil, ErrInvalidURL
	}
	u := new(URL)
	protocol, authHost, rest := split(raw)
	pathname, search, hash := splitPath(rest)
	if authHost == "" && base != "" {
		var bRest string
		protocol, authHost, bRest = split(base)
		bPathname, bSearch, _ := splitPath(bRest)
		switch {
		case rest == "":
			pathname, search = bPathname, bSearch
		case pathname == "":
			pathname = bPathname
			if search == "" {
				search = bSearch
			}
		case pathname[0] == '/':
		default:
			dir := bPathname
			if i := strings.LastIndexByte(dir, '/'); i >= 0 {
				dir = dir[:i]
			}
			pathname = dir + "/" + pathname
		}
	}
	if protocol == "" {
		protocol = "http:"
	}
	u.Protocol = protocol

	host := authHost
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		u.Auth = host[:i]
		host = host[i+1:]
		if j := strings.IndexByte(u.Auth, ':'); j >= 0 {
			u.Username, u.Password = u.Auth[:j], u.Auth[j+1:]
		} else {
			u.Username = u.Auth
		}
	}
	u.Host = host
	u.Hostname = host
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 && i+1 < len(host) && host[i+1] == ':' {
			u.Hostname, u.Port = host[:i+1], host[i+2:]
		}
	} else if i := strings.IndexByte(host, ':'); i >= 0 {
		u.Hostname, u.Port = host[:i], host[i+1:]
	}
	if u.Port == "" {
		u.Port = DefaultPort(protocol)
	}

	if pathname == "" {
		pathname = "/"
	}
	u.Pathname, u.Search, u.Hash = pathname, search, hash
	return u, nil
}

// DefaultPort returns the port used when a URL has none: "80" for http: and
// ws:, "443" for https: and wss: (compared case-insensitively), "" for any
// other protocol. (The original always gave "80"; this is the spec's
// recommended behavior.)
func DefaultPort(protocol string) string {
	switch strings.ToLower(protocol) {
	case "http:", "ws:":
		return "80"
	case "https:", "wss:":
		return "443"
	}
	return ""
}

// split divides s into its protocol (with ':', or ""), its host part
// (userinfo and host, or "" when there is none) and the rest (path, search
// and hash).
func split(s string) (protocol, authHost, rest string) {
	protocol = scheme(s)
	rest = s[len(protocol):]
	if strings.HasPrefix(rest, "//") {
		i := 2
		for i < len(rest) && rest[i] == '/' {
			i++
		}
		if i < len(rest) {
			end := strings.IndexAny(rest[i:], "/?#")
			if end < 0 {
				end = len(rest) - i
			}
			authHost, rest = rest[i:i+end], rest[i+end:]
		}
	}
	return
}

// scheme returns the leading "scheme:" of s, or "".
func scheme(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			if i > 0 {
				return s[:i+1]
			}
			return ""
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return ""
		}
	}
	return ""
}

// splitPath splits a path with optional search and hash at the first '#'
// and the first '?' before it.
func splitPath(s string) (pathname, search, hash string) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s, hash = s[:i], s[i:]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s, search = s[:i], s[i:]
	}
	return s, search, hash
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}
