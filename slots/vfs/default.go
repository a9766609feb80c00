//go:build !js

package vfs

// Default is the file system a store uses when none is given: the real one.
func Default() (FS, error) { return OS{}, nil }
