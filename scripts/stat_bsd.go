//go:build darwin || freebsd

package scripts

import "syscall"

func statTime(st *syscall.Stat_t, which string) int64 {
	if which == "a" {
		return st.Atimespec.Sec
	}
	return st.Ctimespec.Sec
}
