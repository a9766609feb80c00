package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Linked tells a file still in its directory from one another program
// replaced or removed, on the real file system and on CrashFS alike.
func TestLinked(t *testing.T) {
	for _, c := range []struct {
		name string
		fs   FS
		dir  string
	}{{"os", OS{}, t.TempDir()}, {"crashfs", NewCrashFS(), "/d"}} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.fs.MkdirAll(c.dir); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(c.dir, "f")
			f, err := c.fs.OpenFile(name, os.O_RDWR|os.O_CREATE)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if ok, err := f.Linked(); !ok || err != nil {
				t.Fatalf("fresh file: linked %v, %v", ok, err)
			}
			other, err := c.fs.CreateTemp(c.dir, "x")
			if err != nil {
				t.Fatal(err)
			}
			other.Close()
			if err := c.fs.Rename(other.Name(), name); err != nil {
				t.Fatal(err)
			}
			if ok, err := f.Linked(); ok || err != nil {
				t.Fatalf("after another file was renamed over it: linked %v, %v", ok, err)
			}
			g, err := c.fs.OpenFile(name, os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := c.fs.Remove(name); err != nil {
				t.Fatal(err)
			}
			if ok, err := g.Linked(); ok || err != nil {
				t.Fatalf("after it was removed: linked %v, %v", ok, err)
			}
		})
	}
}

// OpenFile refuses what is not a regular file, without blocking on a FIFO
// and without following a link.
func TestOpenRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("x"), 0o600)
	plants := map[string]func(string) error{
		"directory": func(p string) error { return os.Mkdir(p, 0o700) },
		"fifo":      func(p string) error { return syscall.Mkfifo(p, 0o600) },
		"symlink":   func(p string) error { return os.Symlink(target, p) },
	}
	for name, plant := range plants {
		p := filepath.Join(dir, name)
		if err := plant(p); err != nil {
			t.Logf("%s: cannot make one here: %v", name, err)
			continue
		}
		for _, flag := range []int{os.O_RDONLY, os.O_RDWR} {
			f, err := OS{}.OpenFile(p, flag)
			if err == nil {
				f.Close()
				t.Errorf("%s opened with flag %#x", name, flag)
				continue
			}
			// The kernel itself refuses a directory opened for writing.
			if name != "symlink" && !errors.Is(err, ErrNotRegular) && !errors.Is(err, syscall.EISDIR) {
				t.Errorf("%s: %v, want ErrNotRegular", name, err)
			}
		}
	}
}
