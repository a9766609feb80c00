package vfs

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// OS is the real file system.
type OS struct{}

// osFile is an open file of the real file system.
type osFile struct{ f *os.File }

func (o *osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o *osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o *osFile) Name() string                             { return o.f.Name() }
func (o *osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o *osFile) Sync() error                              { return o.f.Sync() }
func (o *osFile) Datasync() error                          { return datasync(o.f) }
func (o *osFile) Close() error                             { return o.f.Close() }

// Linked compares the open file with what its name refers to now, by
// device and inode (file index on Windows).
func (o *osFile) Linked() (bool, error) {
	held, err := o.f.Stat()
	if err != nil {
		return false, err
	}
	now, err := os.Lstat(o.f.Name())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(held, now), nil
}

func (o *osFile) Size() (int64, error) {
	fi, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// OpenFile opens name without following a symbolic link at it and without
// blocking (a FIFO at name would otherwise wait for a writer), then checks
// that what it opened is a regular file before anything reads it.
func (OS) OpenFile(name string, flag int) (File, error) {
	// Look before opening too: opening a device can itself do something
	// (a tape rewinds, a terminal becomes the controlling one). The check
	// after the open is the one that counts; this one spares the open.
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kindOf(fi.Mode()))}
	}
	f, err := openNoFollow(name, flag, 0o600)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kindOf(fi.Mode()))}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &osFile{f}, nil
}

// kindOf names a file mode's type for an error message.
func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	default:
		return "not a regular file: " + m.Type().String()
	}
}

// CreateTemp creates dir/prefix<random>.tmp with O_EXCL and mode 0600.
func (fsys OS) CreateTemp(dir, prefix string) (File, error) {
	for range 10 {
		var r [8]byte
		_, _ = rand.Read(r[:])
		name := filepath.Join(dir, prefix+hex.EncodeToString(r[:])+".tmp")
		f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL)
		if !os.IsExist(err) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "createtemp", Path: filepath.Join(dir, prefix+"*.tmp"), Err: fs.ErrExist}
}

// Rename atomically replaces newpath with oldpath.
func (OS) Rename(oldpath, newpath string) error { return rename(oldpath, newpath) }

// Remove removes a file.
func (OS) Remove(name string) error { return os.Remove(name) }

// MkdirAll creates dir with mode 0700.
func (OS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o700) }

// ReadDir returns the sorted names in dir.
func (OS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, err
}

// Lstat describes name without following a symbolic link.
func (OS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }

// SyncDir makes the entries of dir durable (nothing on Windows; see the
// package documentation).
func (OS) SyncDir(dir string) error { return syncDir(dir) }

// Lock takes the cross-process lock on name.
func (OS) Lock(name string) (io.Closer, error) { return lockFile(name) }
