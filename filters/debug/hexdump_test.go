package debug

import (
	"strings"
	"testing"
)

func TestHexDump(t *testing.T) {
	in := []byte("hello\x01\x02 world, this is a test of dump output!!\n")
	want := strings.Join([]string{
		strings.Repeat("-", 68),
		"68 65 6C 6C 6F 01 02 20 77 6F 72 6C 64 2C 20 74  | hello?? world, t",
		"68 69 73 20 69 73 20 61 20 74 65 73 74 20 6F 66  | his is a test of",
		"20 64 75 6D 70 20 6F 75 74 70 75 74 21 21 0A  -  |  dump output!!?.",
		strings.Repeat("-", 68),
	}, "\n")
	if got := hexDump(in); got != want {
		t.Fatalf("hexDump:\n%s\nwant:\n%s", got, want)
	}
	if got := hexDump([]byte{0x7f}); !strings.Contains(got, "7F "+strings.Repeat(" - ", 15)+" | ?"+strings.Repeat(".", 15)) {
		t.Fatalf("hexDump(7f) = %q", got)
	}
}
