package savegame

import (
	"fmt"
	"os"
	"path/filepath"
)

func defaultDir(game string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("savegame: default directory: %w", err)
	}
	return filepath.Join(home, "Library", "Application Support", game, "Saves"), nil
}
