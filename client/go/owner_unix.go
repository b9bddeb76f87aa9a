//go:build unix

package credd

import (
	"os"
	"syscall"
)

// fileOwner is the uid owning a file; ok is false where the system does not say.
func fileOwner(info os.FileInfo) (uid int, ok bool) {
	stat, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(stat.Uid), true
}
