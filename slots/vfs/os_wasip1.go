package vfs

import (
	"os"
	"syscall"
)

// openNoFollow opens name with O_NOFOLLOW: a symbolic link planted at a
// save's path fails instead of redirecting the write. WASI has no
// O_NONBLOCK for opens; OpenFile refuses anything but a regular file by
// looking at it before the open as well as after.
func openNoFollow(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag|syscall.O_NOFOLLOW, perm)
}
