//go:build js || wasip1

package savegame

import "path/filepath"

// defaultDir is <game>/saves, relative: a WASI program sees only the
// directories its runtime preopens (wasmtime --dir=., for one), and Node
// runs GOOS=js programs in the directory it was started in.
func defaultDir(game string) (string, error) {
	return filepath.Join(game, "saves"), nil
}
