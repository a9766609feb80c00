package vfs

import "os"

// OSFileOf is the real file system's File over an open *os.File, for the
// tests in package vfs_test that need the kernel itself to fail a flush.
func OSFileOf(f *os.File) File { return &osFile{f} }
