package scripts

import "syscall"

func statTime(st *syscall.Stat_t, which string) int64 {
	if which == "a" {
		return st.Atim.Sec
	}
	return st.Ctim.Sec
}
