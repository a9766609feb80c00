package vfs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestOSFlushErrorsAreReturned flushes, through the real file system's
// File, descriptors the Linux kernel refuses to flush (fsync and
// fdatasync return EINVAL on a pipe, a FIFO and /dev/null): Sync and
// Datasync must return that error, naming the operation and the file.
func TestOSFlushErrorsAreReturned(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// Read-write and non-blocking: the open does not wait for a peer.
	ff, err := os.OpenFile(fifo, os.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ff.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	for _, c := range []struct {
		name string
		f    *os.File
	}{{"pipe", w}, {"FIFO", ff}, {"/dev/null", null}} {
		f := &osFile{c.f}
		for _, flush := range []struct {
			op string
			fn func() error
		}{{"fdatasync", f.Datasync}, {"sync", f.Sync}} {
			err := flush.fn()
			if !errors.Is(err, syscall.EINVAL) {
				t.Fatalf("%s on a %s: %v, want EINVAL", flush.op, c.name, err)
			}
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Op != flush.op || pe.Path != c.f.Name() {
				t.Fatalf("%s on a %s: %#v, want a *fs.PathError naming %s and %s", flush.op, c.name, err, flush.op, c.f.Name())
			}
		}
	}
	// /dev/null takes writes: a flush is the first thing to fail, as on
	// a disk that accepted the data into its cache and then could not
	// store it.
	if n, err := (&osFile{null}).WriteAt([]byte("save"), 4096); n != 4 || err != nil {
		t.Fatalf("write to /dev/null: %d, %v", n, err)
	}
}
