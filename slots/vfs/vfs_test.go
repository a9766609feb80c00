package vfs

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// contents returns what path holds in fsys, or nil if it does not exist.
func contents(t *testing.T, fsys FS, path string) []byte {
	t.Helper()
	f, err := fsys.OpenFile(path, os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, _ := f.Size()
	b := make([]byte, size)
	f.ReadAt(b, 0)
	return b
}

func collect(c *CrashFS, n int, opts CrashOptions) []*CrashFS {
	var out []*CrashFS
	for s := range c.CrashStates(n, opts) {
		out = append(out, s)
	}
	return out
}

func TestCrashModel(t *testing.T) {
	c := NewCrashFS()
	c.MkdirAll("/d")
	c.SyncDir("/")
	f, _ := c.OpenFile("/d/a", os.O_RDWR|os.O_CREATE)
	f.WriteAt([]byte("old"), 0)
	f.Datasync()
	c.SyncDir("/d")
	synced := c.Ops()

	// Nothing volatile: one state, the visible one.
	states := collect(c, synced, CrashOptions{})
	if len(states) != 1 || string(contents(t, states[0], "/d/a")) != "old" {
		t.Fatalf("after syncs: %d states", len(states))
	}

	// An unsynced one-sector write: lost, kept, zeroed or garbage.
	f.WriteAt([]byte("new"), 0)
	seen := map[string]bool{}
	for _, s := range collect(c, c.Ops(), CrashOptions{}) {
		seen[string(contents(t, s, "/d/a"))] = true
	}
	if len(seen) != 4 || !seen["old"] || !seen["new"] || !seen["\x00\x00\x00"] {
		t.Fatalf("unsynced write: states %v", seen)
	}
	if got := collect(c, c.Ops(), CrashOptions{NoTear: true}); len(got) != 2 {
		t.Fatalf("without tearing: %d states, want 2", len(got))
	}
	f.Datasync()
	if got := collect(c, c.Ops(), CrashOptions{}); len(got) != 1 || string(contents(t, got[0], "/d/a")) != "new" {
		t.Fatalf("after the file sync: %d states", len(got))
	}

	// A new file with synced data but no directory sync may vanish.
	g, _ := c.OpenFile("/d/b", os.O_RDWR|os.O_CREATE)
	g.WriteAt([]byte("bee"), 0)
	g.Datasync()
	vanished, kept := false, false
	for _, s := range collect(c, c.Ops(), CrashOptions{}) {
		switch string(contents(t, s, "/d/b")) {
		case "":
			vanished = true
		case "bee":
			kept = true
		default:
			t.Fatal("synced data torn")
		}
	}
	if !vanished || !kept {
		t.Fatalf("unsynced creation: vanished %v kept %v", vanished, kept)
	}
	c.SyncDir("/d")

	// A rename is atomic: the file is under one name or the other, whole.
	c.Rename("/d/b", "/d/a")
	for _, s := range collect(c, c.Ops(), CrashOptions{}) {
		a, b := contents(t, s, "/d/a"), contents(t, s, "/d/b")
		switch {
		case string(a) == "new" && string(b) == "bee":
		case string(a) == "bee" && b == nil:
		default:
			t.Fatalf("rename left a=%q b=%q", a, b)
		}
	}

	// Boundaries: a power cut before the rename keeps both names.
	before := collect(c, c.Ops()-1, CrashOptions{})
	if len(before) != 1 || string(contents(t, before[0], "/d/b")) != "bee" {
		t.Fatal("state before the rename")
	}

	// A crashed CrashFS is a working file system with that state as durable.
	s := c.Crash(1)
	h, err := s.OpenFile("/d/c", os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	h.WriteAt([]byte("sea"), 0)
	if got := collect(s, s.Ops(), CrashOptions{}); len(got) < 2 {
		t.Fatalf("crash of a crashed file system: %d states", len(got))
	}
}

func TestTornWritesAtSectors(t *testing.T) {
	c := NewCrashFS()
	f, _ := c.OpenFile("/x", os.O_RDWR|os.O_CREATE)
	old := bytes.Repeat([]byte{'o'}, 4*SectorSize)
	f.WriteAt(old, 0)
	f.Datasync()
	c.SyncDir("/")
	f.WriteAt(bytes.Repeat([]byte{'n'}, 4*SectorSize), 0)
	states := collect(c, c.Ops(), CrashOptions{})
	// Lost, whole, and 5 tear patterns per sector, less 2 duplicates: a
	// prefix tear ending in the last sector (new, new, new, zero or
	// garbage) is also the pattern with one hole in the last sector.
	if want := 2 + 5*4 - 2; len(states) != want {
		t.Fatalf("%d states, want %d", len(states), want)
	}
	for _, s := range states {
		b := contents(t, s, "/x")
		for sec := 0; sec < 4; sec++ {
			part := b[sec*SectorSize : (sec+1)*SectorSize]
			first := part[0]
			if first == 'o' || first == 'n' || first == 0 {
				if !bytes.Equal(part, bytes.Repeat([]byte{first}, SectorSize)) {
					t.Fatalf("sector %d mixes contents", sec)
				}
			}
		}
	}
	// Sampling beyond the limit stays within it and is reproducible.
	a := collect(c, c.Ops(), CrashOptions{Limit: 5, Seed: 3})
	b := collect(c, c.Ops(), CrashOptions{Limit: 5, Seed: 3})
	if len(a) > 5 || len(a) != len(b) {
		t.Fatalf("sampled %d and %d states", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(contents(t, a[i], "/x"), contents(t, b[i], "/x")) {
			t.Fatal("sampling is not deterministic")
		}
	}
}

func TestFaultFS(t *testing.T) {
	inner := NewCrashFS()
	ff := NewFaultFS(inner, Rule{Kind: OpDatasync, Err: EIO}, Rule{Nth: 2, Kind: OpWrite, Name: "b", Err: ErrShortWrite})
	a, _ := ff.OpenFile("/a", os.O_RDWR|os.O_CREATE)
	if err := a.Datasync(); !errors.Is(err, EIO) {
		t.Fatalf("first datasync: %v", err)
	}
	if err := a.Datasync(); err != nil {
		t.Fatalf("a rule fails once by default: %v", err)
	}
	b, _ := ff.OpenFile("/b", os.O_RDWR|os.O_CREATE)
	if _, err := b.WriteAt([]byte("1234"), 0); err != nil {
		t.Fatal(err)
	}
	n, err := b.WriteAt([]byte("abcd"), 0)
	if n != 2 || !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("short write: %d %v", n, err)
	}
	if got := contents(t, inner, "/b"); string(got) != "ab34" {
		t.Fatalf("after a short write: %q", got)
	}
	ff.AddRule(Rule{Kind: OpRename, Err: ENOSPC, Times: -1})
	for range 3 {
		if err := ff.Rename("/a", "/c"); !errors.Is(err, ENOSPC) {
			t.Fatalf("rename: %v", err)
		}
	}
	if n := ff.Count(); n != 9 || ff.Log()[1] != "datasync /a FAILED" || ff.Log()[5] != "write /b FAILED" {
		t.Fatalf("log: %d %q", n, ff.Log())
	}
}

func TestOSFileSystem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	var fsys OS
	if err := fsys.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode %v", fi.Mode().Perm())
	}
	f, err := fsys.CreateTemp(dir, ".x.")
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(f.Name()); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v", fi.Mode().Perm())
	}
	f.WriteAt([]byte("data"), 0)
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := fsys.Rename(f.Name(), filepath.Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		t.Fatal(err)
	}
	if names, _ := fsys.ReadDir(dir); len(names) != 1 || names[0] != "x" {
		t.Fatalf("names %v", names)
	}
	// No following a symbolic link.
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("keep"), 0o600)
	if err := os.Symlink(target, filepath.Join(dir, "link")); err == nil {
		if _, err := fsys.OpenFile(filepath.Join(dir, "link"), os.O_RDWR); err == nil {
			t.Fatal("opened through a symbolic link")
		}
	}
	// The lock.
	l, err := fsys.Lock(filepath.Join(dir, ".lock"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Lock(filepath.Join(dir, ".lock")); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	l.Close()
	l, err = fsys.Lock(filepath.Join(dir, ".lock"))
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	l.Close()
}
