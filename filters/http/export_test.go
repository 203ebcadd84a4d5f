package http

import "time"

// SetH2StallTimeout sets how long a stream may wait for a closed window
// (h2StallTimeout) and returns a function restoring the old value; tests of
// package http_test call it.
func SetH2StallTimeout(d time.Duration) (restore func()) {
	old := h2StallTimeout
	h2StallTimeout = d
	return func() { h2StallTimeout = old }
}
