//go:build !linux

package vfs

import "os"

// datasync is os.File.Sync where there is no fdatasync: F_FULLFSYNC on
// darwin, FlushFileBuffers on Windows, fsync elsewhere.
func datasync(f *os.File) error { return f.Sync() }
