//go:build unix

package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

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
