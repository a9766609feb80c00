package savegame

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

func defaultDir(game string) (string, error) {
	if d, err := windows.KnownFolderPath(windows.FOLDERID_SavedGames, 0); err == nil && d != "" {
		return filepath.Join(d, game), nil
	}
	cfg, err := os.UserConfigDir() // %APPDATA%
	if err != nil {
		return "", fmt.Errorf("savegame: default directory: %w", err)
	}
	return filepath.Join(cfg, game, "Saves"), nil
}
