//go:build js || wasip1

package vfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// syncDir flushes a directory where the runtime can: WASI runtimes and
// Node pass fd_sync/fsync of a directory to the host, which makes its
// entries durable as on Unix. A runtime that cannot flush a directory
// answers ENOTSUP, ENOSYS, EINVAL, EBADF or EISDIR; then nothing stronger
// is available, and the rename is as durable as the host makes it on its
// own (docs/durability.md, "WebAssembly").
func syncDir(dir string) error {
	err := fsyncDir(dir)
	if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.EBADF) || errors.Is(err, syscall.EISDIR) {
		return nil
	}
	return err
}

// rename is the runtime's rename, atomic within one file system on every
// host that WASI and Node run on.
func rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// held are the lock files this process holds: WebAssembly has no file
// locks, so a store's lock holds within the process only (a second Open
// of the directory in the same program is refused; a second program is
// not kept out).
var held sync.Map

type procLock struct {
	name string
	once sync.Once
}

func (l *procLock) Close() error {
	l.once.Do(func() { held.Delete(l.name) })
	return nil
}

// lockFile creates the lock file, as elsewhere, and takes the process's
// own lock on it.
func lockFile(name string) (io.Closer, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = filepath.Clean(name)
	}
	if _, taken := held.LoadOrStore(abs, struct{}{}); taken {
		return nil, ErrLocked
	}
	f, err := openNoFollow(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		held.Delete(abs)
		return nil, err
	}
	f.Close()
	return &procLock{name: abs}, nil
}
