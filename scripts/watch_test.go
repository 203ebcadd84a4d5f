package scripts

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestWatchSeesAChangeOnce(t *testing.T) {
	f := filepath.Join(t.TempDir(), "a.js")
	os.WriteFile(f, []byte("1"), 0o644)
	stop := make(chan struct{})
	defer close(stop)
	changes := make(chan struct{}, 4)
	go Watch(stop, func() []string { return []string{f} }, func() { changes <- struct{}{} })
	time.Sleep(1100 * time.Millisecond)
	os.WriteFile(f, []byte("22"), 0o644)
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("change not seen")
	}
	select {
	case <-changes:
		t.Fatal("one change reported twice")
	case <-time.After(2500 * time.Millisecond):
	}
}
