package vfs

import "os"

// openNoFollow opens name as the runtime can: GOOS=js has no O_NOFOLLOW or
// O_NONBLOCK, so OpenFile's look at name before the open (a symbolic link,
// a FIFO or a directory is refused then) and after it carry the check.
func openNoFollow(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}
