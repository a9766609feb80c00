package savegame

import (
	"fmt"
	"strings"
)

// DefaultDir returns where a game named game keeps its saves by the
// operating system's convention (the directory is not created):
//
//   - Linux and other Unix: $XDG_DATA_HOME/<game>/saves, or
//     ~/.local/share/<game>/saves
//   - macOS: ~/Library/Application Support/<game>/Saves
//   - Windows: the Saved Games known folder\<game>, or
//     %APPDATA%\<game>\Saves where it cannot be found
//   - WebAssembly (js, wasip1): <game>/saves, relative to the working
//     directory: under WASI, within the directory the runtime preopens
//
// game must be a plain name: no path separators, not "." or "..".
func DefaultDir(game string) (string, error) {
	if game == "" || game == "." || game == ".." || strings.ContainsAny(game, `/\:`) || strings.ContainsRune(game, 0) {
		return "", fmt.Errorf("savegame: game name %q must be a plain name", game)
	}
	return defaultDir(game)
}
