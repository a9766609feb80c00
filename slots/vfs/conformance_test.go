package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"testing"
)

// checkFS holds an FS to what slots relies on, the same for every
// implementation: the disk, CrashFS, and IndexedDB in a browser
// (indexeddb_js_test.go). dir must not exist yet; paths use forward
// slashes, which every platform's file functions accept.
func checkFS(t *testing.T, fsys FS, dir string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func(f File) []byte {
		t.Helper()
		size, err := f.Size()
		must(err)
		b := make([]byte, size)
		if n, err := f.ReadAt(b, 0); n != len(b) || (err != nil && err != io.EOF) {
			t.Fatalf("read %s: %d of %d bytes, %v", f.Name(), n, len(b), err)
		}
		return b
	}

	if _, err := fsys.ReadDir(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadDir of a missing directory: %v, want ErrNotExist", err)
	}
	must(fsys.MkdirAll(path.Join(dir, "sub")))
	must(fsys.MkdirAll(dir)) // again: no error
	if fi, err := fsys.Lstat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("Lstat of the directory: %v, %v", fi, err)
	}
	a := path.Join(dir, "a")
	if _, err := fsys.OpenFile(a, os.O_RDONLY); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("open of a missing file: %v, want ErrNotExist", err)
	}
	if _, err := fsys.Lstat(a); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Lstat of a missing file: %v, want ErrNotExist", err)
	}
	if _, err := fsys.OpenFile(path.Join(dir, "sub"), os.O_RDWR); err == nil {
		t.Fatal("a directory opened as a file")
	}

	// Write, read back through a second handle, grow, cut.
	f, err := fsys.OpenFile(a, os.O_RDWR|os.O_CREATE)
	must(err)
	if _, err := fsys.OpenFile(a, os.O_RDWR|os.O_CREATE|os.O_EXCL); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL on an existing file: %v, want ErrExist", err)
	}
	if _, err := f.WriteAt([]byte("hello world"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("W"), 6); err != nil {
		t.Fatal(err)
	}
	g, err := fsys.OpenFile(a, os.O_RDONLY)
	must(err)
	if got := read(g); string(got) != "hello World" {
		t.Fatalf("second handle reads %q", got)
	}
	if fi, err := fsys.Lstat(a); err != nil || fi.Size() != 11 || !fi.Mode().IsRegular() {
		t.Fatalf("Lstat of the file: %v, %v", fi, err)
	}
	if _, err := f.WriteAt([]byte("!"), 13); err != nil { // past the end: a hole of zeros
		t.Fatal(err)
	}
	if got := read(f); !bytes.Equal(got, []byte("hello World\x00\x00!")) {
		t.Fatalf("after writing past the end: %q", got)
	}
	must(f.Truncate(5))
	must(f.Datasync())
	must(f.Sync())
	if got := read(g); string(got) != "hello" {
		t.Fatalf("after truncate: %q", got)
	}
	var b [4]byte
	if n, err := g.ReadAt(b[:], 3); n != 2 || err != io.EOF {
		t.Fatalf("read across the end: %d, %v", n, err)
	}
	must(g.Close())
	if _, err := g.ReadAt(b[:], 0); err == nil {
		t.Fatal("read after Close succeeded")
	}

	// A temporary renamed over the file replaces it; the old handle is
	// then no longer linked, and its writes reach no name.
	tmp, err := fsys.CreateTemp(dir, ".a.")
	must(err)
	if base := path.Base(tmp.Name()); !(len(base) > len(".a.tmp") && base[:3] == ".a." && path.Ext(base) == ".tmp") {
		t.Fatalf("temporary name %q", tmp.Name())
	}
	if _, err := tmp.WriteAt([]byte("second"), 0); err != nil {
		t.Fatal(err)
	}
	must(tmp.Datasync())
	must(tmp.Close())
	must(fsys.Rename(tmp.Name(), a))
	must(fsys.SyncDir(dir))
	if ok, err := f.Linked(); ok || err != nil {
		t.Fatalf("replaced file: linked %v, %v", ok, err)
	}
	if _, err := f.WriteAt([]byte("lost"), 0); err != nil {
		t.Fatal(err)
	}
	must(f.Sync())
	must(f.Close())
	h, err := fsys.OpenFile(a, os.O_RDWR)
	must(err)
	if got := read(h); string(got) != "second" {
		t.Fatalf("after the rename: %q", got)
	}
	if ok, err := h.Linked(); !ok || err != nil {
		t.Fatalf("current file: linked %v, %v", ok, err)
	}
	must(h.Close())
	if _, err := fsys.Lstat(tmp.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the temporary is still there after the rename: %v", err)
	}
	if err := fsys.Rename(path.Join(dir, "missing"), a); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rename of a missing file: %v", err)
	}

	// Listing, sorted, files and directories alike.
	for _, n := range []string{"b.pointer", "a.0", "B"} {
		x, err := fsys.OpenFile(path.Join(dir, n), os.O_RDWR|os.O_CREATE)
		must(err)
		must(x.Close())
	}
	names, err := fsys.ReadDir(dir)
	must(err)
	if want := []string{"B", "a", "a.0", "b.pointer", "sub"}; !slices.Equal(names, want) {
		t.Fatalf("ReadDir: %q, want %q", names, want)
	}
	must(fsys.Remove(path.Join(dir, "B")))
	if err := fsys.Remove(path.Join(dir, "B")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("second Remove: %v", err)
	}
	if _, err := fsys.OpenFile(path.Join(dir, "nodir", "x"), os.O_RDWR|os.O_CREATE); err == nil {
		t.Fatal("created a file in a missing directory")
	}

	// The lock: one holder at a time, free again after Close.
	lockName := path.Join(dir, ".lock")
	l, err := fsys.Lock(lockName)
	must(err)
	if _, err := fsys.Lock(lockName); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v, want ErrLocked", err)
	}
	must(l.Close())
	l, err = fsys.Lock(lockName)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	must(l.Close())
}

func TestFSConformance(t *testing.T) {
	t.Run("os", func(t *testing.T) { checkFS(t, OS{}, path.Join(t.TempDir(), "store")) })
	t.Run("crashfs", func(t *testing.T) { checkFS(t, NewCrashFS(), "/d/store") })
}
