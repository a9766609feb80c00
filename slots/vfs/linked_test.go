package vfs

import (
	"os"
	"path/filepath"
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
