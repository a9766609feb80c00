package slots

import (
	"fmt"
	"strings"
)

// MaxNameLen is the longest slot name.
const MaxNameLen = 64

// windowsDevices are names Windows reserves in every directory, whatever
// the extension: "CON.0.sav" opens the console.
var windowsDevices = []string{"con", "prn", "aux", "nul",
	"com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
	"lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9"}

// ValidateName reports whether name can name a slot: 1 to 64 ASCII letters,
// digits, '-' and '_', not starting with '-', and not a Windows device
// name. A name is never interpreted as a path.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty", ErrInvalidName)
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidName, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: %q has %q at byte %d (letters, digits, '-' and '_' only)", ErrInvalidName, name, c, i)
		}
	}
	if name[0] == '-' {
		// A name that starts with '-' reads as a flag to every command
		// line tool, the savegame command's included.
		return fmt.Errorf("%w: %q starts with '-'", ErrInvalidName, name)
	}
	for _, d := range windowsDevices {
		if strings.EqualFold(name, d) {
			return fmt.Errorf("%w: %q is a reserved device name on Windows", ErrInvalidName, name)
		}
	}
	return nil
}

// File names of a slot.
func slotFile(name string, i int) string { return fmt.Sprintf("%s.%d.sav", name, i) }
func pointerFile(name string) string     { return name + ".ptr" }
func tempPrefix(name string) string      { return "." + name + "." }

// lockFile is the name of the cross-process lock in a store directory.
const lockFile = ".lock"

// parseFileName returns the slot name a file in a store directory belongs
// to, or "" for anything else (temporaries, the lock, strangers).
func parseFileName(file string) string {
	var name string
	switch {
	case strings.HasSuffix(file, ".ptr"):
		name = strings.TrimSuffix(file, ".ptr")
	case strings.HasSuffix(file, ".0.sav"):
		name = strings.TrimSuffix(file, ".0.sav")
	case strings.HasSuffix(file, ".1.sav"):
		name = strings.TrimSuffix(file, ".1.sav")
	default:
		return ""
	}
	if ValidateName(name) != nil {
		return ""
	}
	return name
}

// isTemp reports whether file is a temporary this package makes.
func isTemp(file string) bool {
	return strings.HasPrefix(file, ".") && strings.HasSuffix(file, ".tmp")
}
