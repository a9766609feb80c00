package vfs

import (
	"errors"
	"io"
	"io/fs"
)

// FS is everything slots asks of a file system. Paths are OS paths; every
// file is opened without following a symbolic link at its last component,
// and created with mode 0600; directories are created 0700.
type FS interface {
	// OpenFile opens name with os.O_RDONLY or os.O_RDWR, optionally
	// os.O_CREATE and os.O_EXCL. Anything at name but a regular file is an
	// error: a symbolic link (never followed), a directory, a FIFO or a
	// device (ErrNotRegular). Opening never blocks, whatever is at name.
	OpenFile(name string, flag int) (File, error)
	// CreateTemp creates a new file in dir named prefix + a random suffix
	// + ".tmp", exclusively (O_EXCL), mode 0600.
	CreateTemp(dir, prefix string) (File, error)
	// Rename atomically replaces newpath with oldpath.
	Rename(oldpath, newpath string) error
	// Remove removes a file.
	Remove(name string) error
	// MkdirAll creates dir and its missing parents, mode 0700.
	MkdirAll(dir string) error
	// ReadDir returns the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Lstat describes name without following a symbolic link.
	Lstat(name string) (fs.FileInfo, error)
	// SyncDir makes the creations, renames and removals in dir durable.
	SyncDir(dir string) error
	// Lock takes an exclusive lock on the file name (created if missing),
	// without waiting: ErrLocked if another holder has it. Closing the
	// returned io.Closer releases it; so does the holder's death.
	Lock(name string) (io.Closer, error)
}

// File is an open file.
type File interface {
	io.ReaderAt
	io.WriterAt
	// Name is the path the file was opened with.
	Name() string
	// Size is the file's current length.
	Size() (int64, error)
	Truncate(size int64) error
	// Linked reports whether Name still names this open file: false once
	// another program has removed it, or renamed or copied another file
	// over its name. Writing to a file that is no longer linked changes
	// nothing a reader of the directory will see.
	Linked() (bool, error)
	// Sync makes the file's data and metadata durable (fsync).
	Sync() error
	// Datasync makes the file's data durable, with the metadata needed to
	// read it back such as its size (fdatasync where the OS has it, else
	// Sync).
	Datasync() error
	Close() error
}

// DatasyncAller is an FS that can make the data of several of its files
// durable in one step, all of them or none, whatever a crash or a failure
// does: IndexedDB stores them in one transaction. slots flushes a commit's
// slot file and pointer through it where an FS has it, so the new pointer
// is never kept without the new slot bytes.
type DatasyncAller interface {
	DatasyncAll(files ...File) error
}

// ErrNotRegular is returned by OpenFile when name exists but is not a
// regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrLocked is returned by Lock when another process (or another Lock in
// this one) holds the lock.
var ErrLocked = errors.New("vfs: locked by another process")
