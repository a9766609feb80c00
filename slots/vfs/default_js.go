//go:build js

package vfs

import (
	"sync"
	"syscall/js"
)

// DatabaseName is the IndexedDB database that Default opens in a browser.
// Every game of an origin shares it; stores keep apart by directory, so a
// game names its directory after itself (savegame.DefaultDir does).
const DatabaseName = "savekit"

var (
	defaultOnce sync.Once
	defaultFS   FS
	defaultErr  error
)

// Default is the file system a store uses when none is given. In a
// browser it is IndexedDB (the database DatabaseName, opened once per
// program); where JavaScript has no IndexedDB, as under Node, it is the
// host's file system through the runtime.
func Default() (FS, error) {
	defaultOnce.Do(func() {
		if !js.Global().Get("indexedDB").Truthy() {
			defaultFS = OS{}
			return
		}
		defaultFS, defaultErr = OpenIndexedDB(DatabaseName)
	})
	return defaultFS, defaultErr
}
