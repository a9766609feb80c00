//go:build windows

package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// openNoFollow refuses a symbolic link or other reparse point at name.
// Windows has no O_NOFOLLOW; the Lstat check leaves a small window.
func openNoFollow(name string, flag int, perm os.FileMode) (*os.File, error) {
	if fi, err := os.Lstat(name); err == nil && fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return nil, &os.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (a link or reparse point, never followed)", ErrNotRegular)}
	}
	return os.OpenFile(name, flag, perm)
}

// syncDir does nothing: Windows cannot flush a directory. Renames are made
// durable by MOVEFILE_WRITE_THROUGH instead.
func syncDir(string) error { return nil }

// renameAttempts bounds the retries of a rename that another process's
// open handle (antivirus, indexer, backup) blocks.
const renameAttempts = 10

// rename is MoveFileEx(REPLACE_EXISTING|WRITE_THROUGH): it returns once the
// rename is on disk.
func rename(oldpath, newpath string) error {
	from, err := windows.UTF16PtrFromString(oldpath)
	if err != nil {
		return err
	}
	to, err := windows.UTF16PtrFromString(newpath)
	if err != nil {
		return err
	}
	delay := time.Millisecond
	for attempt := 1; ; attempt++ {
		err = windows.MoveFileEx(from, to, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
		if err == nil {
			return nil
		}
		if attempt == renameAttempts || !(errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_ACCESS_DENIED)) {
			return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

type winLock struct{ f *os.File }

func (l *winLock) Close() error { return l.f.Close() } // closing the handle releases the lock

// lockFile takes LockFileEx(EXCLUSIVE|FAIL_IMMEDIATELY) on the first byte.
func lockFile(name string) (io.Closer, error) {
	f, err := openNoFollow(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	ol := new(windows.Overlapped)
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
			return nil, ErrLocked
		}
		return nil, &os.PathError{Op: "lock", Path: name, Err: err}
	}
	return &winLock{f}, nil
}
