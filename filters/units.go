package filters

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads a duration as scripts write it: a number with an
// optional unit ms, s, m, h or d (no unit means seconds), e.g. "1s", "500ms".
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	unit := time.Second
	switch {
	case strings.HasSuffix(t, "ms"):
		unit, t = time.Millisecond, t[:len(t)-2]
	case strings.HasSuffix(t, "s"):
		t = t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		unit, t = time.Minute, t[:len(t)-1]
	case strings.HasSuffix(t, "h"):
		unit, t = time.Hour, t[:len(t)-1]
	case strings.HasSuffix(t, "d"):
		unit, t = 24*time.Hour, t[:len(t)-1]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(f >= 0) || f*float64(unit) >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid duration: %q", s)
	}
	return time.Duration(f * float64(unit)), nil
}

// ParseSize reads a size as scripts write it: a number with an optional k,
// m, g or t suffix (powers of 1024, any case), e.g. "100k".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(strings.ToLower(s))
	mul := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k':
			mul = 1 << 10
		case 'm':
			mul = 1 << 20
		case 'g':
			mul = 1 << 30
		case 't':
			mul = 1 << 40
		}
		if mul > 1 {
			t = t[:n-1]
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || !(f >= 0) || f*float64(mul) >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid size: %q", s)
	}
	return int64(f * float64(mul)), nil
}
