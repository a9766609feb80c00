//go:build unix || js || wasip1

package vfs

import "os"

// fsyncDir opens dir and flushes it: what syncDir does where directories
// can be flushed through a descriptor.
func fsyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
