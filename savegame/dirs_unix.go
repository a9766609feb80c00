//go:build unix && !darwin

package savegame

import (
	"fmt"
	"os"
	"path/filepath"
)

func defaultDir(game string) (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, game, "saves"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("savegame: default directory: %w", err)
	}
	return filepath.Join(home, ".local", "share", game, "saves"), nil
}
