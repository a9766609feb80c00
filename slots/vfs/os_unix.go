//go:build unix

package vfs

import (
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openNoFollow opens name with O_NOFOLLOW (os.OpenFile adds O_CLOEXEC): a
// symbolic link planted at a save's path fails with ELOOP instead of
// redirecting the write. O_NONBLOCK keeps a FIFO at the path from blocking
// the open until a writer comes (OpenFile then refuses it as not regular);
// on a regular file it changes nothing.
func openNoFollow(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, perm)
}

// syncDir fsyncs a directory so the creations, renames and removals in it
// survive a power cut; without it a new file's name may vanish although
// its data was synced.
func syncDir(dir string) error { return fsyncDir(dir) }

// rename is rename(2), atomic within one file system.
func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

type flockFile struct{ f *os.File }

func (l *flockFile) Close() error { return l.f.Close() } // closing drops the flock

// lockFile takes flock(LOCK_EX|LOCK_NB). The kernel drops it when the
// holder exits, however it dies, so a killed game never leaves a stale lock.
func lockFile(name string) (io.Closer, error) {
	f, err := openNoFollow(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	return &flockFile{f}, nil
}
