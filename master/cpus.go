package master

import (
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// UsableCPUs is the number of CPUs this process may use: the CPU affinity
// mask (runtime.NumCPU honours it) capped by a cgroup v2 CPU quota.
func UsableCPUs() int {
	n := runtime.NumCPU()
	if b, err := os.ReadFile("/sys/fs/cgroup/cpu.max"); err == nil {
		f := strings.Fields(string(b))
		if len(f) == 2 && f[0] != "max" {
			quota, err1 := strconv.ParseFloat(f[0], 64)
			period, err2 := strconv.ParseFloat(f[1], 64)
			if err1 == nil && err2 == nil && period > 0 {
				n = min(n, max(1, int(math.Ceil(quota/period))))
			}
		}
	}
	return max(n, 1)
}
