package scripts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pipy-go/pipy/filters"
)

// listen() reads its limit options from filters.ListenOptions: values,
// units and ranges, with errors naming the option and its range.
func TestListenLimitOptions(t *testing.T) {
	h := newHarness(t)
	prog := h.mustLoad(`pipy().listen(8080, {maxHeadSize: '16k', maxHeaders: 7, readTimeout: '1.5s', idleTimeout: 0, maxConnections: 3})`)
	got := prog.Root.Pipelines[0].Listen.Limits
	want := filters.Limits{MaxHeadSize: 16 << 10, MaxHeaders: 7, ReadTimeout: 1500 * time.Millisecond, IdleTimeout: 0, MaxConnections: 3}
	if got != want {
		t.Errorf("limits %+v, want %+v", got, want)
	}
	for src, msg := range map[string]string{
		"{maxHeadSize: 100}":         "option maxHeadSize out of range: 100 (256 bytes to 64 MiB)",
		"{maxHeadSize: 'lots'}":      "option maxHeadSize: invalid size",
		"{maxHeaders: 0}":            "option maxHeaders out of range: 0 (1 to 65535)",
		"{maxHeaders: 1.5}":          "option maxHeaders out of range: 1.5 (1 to 65535)",
		"{maxHeaders: 'x'}":          "option maxHeaders expects an integer, got x",
		"{readTimeout: '25h'}":       "option readTimeout out of range: 25h (0 to 24h0m0s; 0 disables)",
		"{idleTimeout: -1}":          "option idleTimeout out of range: -1 (0 to 24h0m0s; 0 disables)",
		"{maxConnections: -2}":       "option maxConnections out of range: -2 (0 to 2147483647)",
		"{readTimeout: {}}":          "option readTimeout expects a duration",
		"{maxHeadSize: Infinity}":    "option maxHeadSize expects a size",
		"{maxHeadSize: 1 / 0 - 1e9}": "option maxHeadSize expects a size",
	} {
		err := h.loadErr("pipy().listen(8080, " + src + ")")
		if !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want %q", src, err, msg)
		}
	}
}
