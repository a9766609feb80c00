//go:build js

package main

import (
	"bytes"
	"context"
	"syscall/js"

	"github.com/savekit/savekit/slots/vfs"
)

// saveLocation is where the HUD says saves go: in a browser, the origin's
// IndexedDB database (savekit's default there), under the store's
// directory.
func saveLocation(dir string) string {
	return "browser storage (IndexedDB " + vfs.DatabaseName + ": " + dir + ")"
}

// note puts what the banner says on the page's console too, where a test
// driving the browser reads it.
func note(s string) { js.Global().Get("console").Call("log", "demo: "+s) }

// exposeWeb gives the page's download button what it needs:
// savekitExport() returns a promise of {name, bytes}, the current slot's
// save as a standard .sav file (Store.Export), which the savegame CLI
// reads. WebAssembly runs one goroutine at a time, so reading g.slot here
// cannot tear.
func exposeWeb(g *game) {
	js.Global().Set("savekitExport", js.FuncOf(func(js.Value, []js.Value) any {
		slot := g.slot
		var resolve, reject js.Value
		executor := js.FuncOf(func(_ js.Value, args []js.Value) any {
			resolve, reject = args[0], args[1]
			return nil
		})
		promise := js.Global().Get("Promise").New(executor)
		executor.Release()
		// Export waits for the store: never inside a JavaScript callback.
		go func() {
			var buf bytes.Buffer
			if _, err := g.store.Export(context.Background(), slot, &buf); err != nil {
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
				return
			}
			b := js.Global().Get("Uint8Array").New(buf.Len())
			js.CopyBytesToJS(b, buf.Bytes())
			resolve.Invoke(js.ValueOf(map[string]any{"name": slot + ".sav", "bytes": b}))
		}()
		return promise
	}))
	if b := js.Global().Get("document").Call("getElementById", "export"); b.Truthy() {
		b.Set("disabled", false)
	}
}
