package algo

import (
	"bytes"
	"errors"
	"strings"
)

// ErrInvalidURLPattern is returned by [URLRouter.Add] for a pattern without
// a '/' or whose domain contains ':'. Its text is the original Pipy message.
var ErrInvalidURLPattern = errors.New("invalid URL pattern")

// URLRouter maps host/path patterns to values of type V (algo.URLRouter).
//
// A pattern is "<domain>/<path>":
//
//   - <domain> may be empty (the rule applies to any host). Otherwise it is
//     a dotted name matched case-insensitively; a leading "*" label matches
//     exactly one label ("*.foo.com" matches "a.foo.com", not "foo.com" nor
//     "a.b.foo.com"). A domain containing ':' is invalid (ports are not
//     part of patterns).
//   - <path> is everything from the first '/'. If its last segment is "*"
//     the rule is a prefix rule: "/hi/*" matches "/hi", "/hi/" and
//     "/hi/any/thing" but not "/hix"; "/*" matches every path. Otherwise
//     the path must match exactly. A '*' anywhere else is literal.
//
// Adding a pattern that is already present replaces its value.
//
// Lookup order for a URL "host[:port]/path[?query]" (port and query are
// ignored): the exact host's rules (the exact path, then the longest
// matching prefix rule), then the "*." rules of the host's parent domain
// (same order), then the host-less rules (same order). The first match
// wins.
//
// The zero value is an empty router ready to use. A URLRouter is not safe
// for concurrent use when Add may run at the same time as Find.
type URLRouter[V any] struct {
	hosts     map[string]*pathRules[V] // exact domain -> rules
	wildcards map[string]*pathRules[V] // parent domain of "*.<parent>" -> rules
	anyHost   pathRules[V]             // rules with an empty domain
}

// pathRules holds the rules of one domain (or of the wildcard of one parent
// domain, or of no domain).
type pathRules[V any] struct {
	exact  map[string]V // path -> value
	prefix map[string]V // path without the trailing "/*" -> value
}

func (p *pathRules[V]) set(path string, v V) {
	if strings.HasSuffix(path, "/*") {
		if p.prefix == nil {
			p.prefix = make(map[string]V)
		}
		p.prefix[path[:len(path)-2]] = v
		return
	}
	if p.exact == nil {
		p.exact = make(map[string]V)
	}
	p.exact[path] = v
}

// find looks path up: exact rule first, then the longest prefix rule. A
// prefix rule for p matches path == p or a path starting with p + "/", so
// the candidates are path itself and path cut at each '/' from the right.
func (p *pathRules[V]) find(path []byte) (v V, ok bool) {
	if len(p.exact) > 0 {
		if v, ok = p.exact[string(path)]; ok {
			return v, true
		}
	}
	if len(p.prefix) == 0 {
		return v, false
	}
	for {
		if v, ok = p.prefix[string(path)]; ok {
			return v, true
		}
		i := bytes.LastIndexByte(path, '/')
		if i < 0 {
			return v, false
		}
		path = path[:i]
	}
}

// NewURLRouter returns an empty router. It is equivalent to new(URLRouter[V]).
func NewURLRouter[V any]() *URLRouter[V] { return new(URLRouter[V]) }

// Add adds the rule pattern -> value (see [URLRouter] for the syntax). It
// returns [ErrInvalidURLPattern] if pattern has no '/' or its domain
// contains ':'.
func (r *URLRouter[V]) Add(pattern string, value V) error {
	i := strings.IndexByte(pattern, '/')
	if i < 0 {
		return ErrInvalidURLPattern
	}
	domain, path := pattern[:i], pattern[i:]
	if strings.IndexByte(domain, ':') >= 0 {
		return ErrInvalidURLPattern
	}
	domain = strings.ToLower(domain)
	var rules *pathRules[V]
	switch {
	case domain == "":
		rules = &r.anyHost
	case domain == "*" || strings.HasPrefix(domain, "*."):
		parent := strings.TrimPrefix(domain[1:], ".")
		rules = lookupOrAdd(&r.wildcards, parent)
	default:
		rules = lookupOrAdd(&r.hosts, domain)
	}
	rules.set(path, value)
	return nil
}

func lookupOrAdd[V any](m *map[string]*pathRules[V], key string) *pathRules[V] {
	if *m == nil {
		*m = make(map[string]*pathRules[V])
	}
	rules := (*m)[key]
	if rules == nil {
		rules = new(pathRules[V])
		(*m)[key] = rules
	}
	return rules
}

// Find joins parts with '/' into a URL "host/path[?query]" and returns the
// value of the best matching rule. At each joint exactly one '/' is kept:
// Find("foo.com", "/bar") and Find("foo.com/", "/bar") both look up
// "foo.com/bar", and Find("/hello") looks up "/hello" with no host. A URL
// without a '/' is a bare host with path "/". Callers skip null arguments
// before calling Find (the script's find(...) does).
//
// Find does not allocate for URLs up to 256 bytes.
func (r *URLRouter[V]) Find(parts ...string) (v V, ok bool) {
	var buf [256]byte
	url := joinURL(buf[:0], parts)
	return r.find(url)
}

// joinURL appends parts to dst, keeping exactly one '/' at each joint
// between two parts (an empty part adds nothing but its joint).
func joinURL(dst []byte, parts []string) []byte {
	for i, p := range parts {
		if i > 0 {
			endSlash := len(dst) > 0 && dst[len(dst)-1] == '/'
			startSlash := len(p) > 0 && p[0] == '/'
			switch {
			case endSlash && startSlash:
				p = p[1:]
			case !endSlash && !startSlash && len(dst) > 0:
				dst = append(dst, '/')
			}
		}
		dst = append(dst, p...)
	}
	return dst
}

// find looks up a joined URL. url is owned by the caller and is modified in
// place (the host is lower-cased).
func (r *URLRouter[V]) find(url []byte) (v V, ok bool) {
	var host, path []byte
	if i := bytes.IndexByte(url, '/'); i >= 0 {
		host, path = url[:i], url[i:]
		if q := bytes.IndexByte(path, '?'); q >= 0 {
			path = path[:q]
		}
	} else {
		host, path = url, slashPath[:]
	}
	host = stripPort(host)
	if len(host) > 0 {
		lowerASCII(host)
		if rules := r.hosts[string(host)]; rules != nil {
			if v, ok = rules.find(path); ok {
				return v, true
			}
		}
		if len(r.wildcards) > 0 {
			// The "*" label must match exactly one non-empty label.
			parent := []byte(nil)
			if dot := bytes.IndexByte(host, '.'); dot > 0 {
				parent = host[dot+1:]
			} else if dot < 0 {
				parent = host[len(host):]
			}
			if parent != nil {
				if rules := r.wildcards[string(parent)]; rules != nil {
					if v, ok = rules.find(path); ok {
						return v, true
					}
				}
			}
		}
	}
	return r.anyHost.find(path)
}

var slashPath = [1]byte{'/'}

// stripPort removes a ":port" suffix from host, keeping bracketed IPv6
// literals ("[::1]:80" -> "[::1]") intact.
func stripPort(host []byte) []byte {
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i >= 0 {
			return host[:i+1]
		}
		return host
	}
	if i := bytes.IndexByte(host, ':'); i >= 0 {
		return host[:i]
	}
	return host
}

func lowerASCII(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
}
