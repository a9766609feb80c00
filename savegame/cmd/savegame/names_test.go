package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A slot name that starts with '-' reads as a flag: every command that
// names a slot refuses it as a usage error, saying why, also after "--".
func TestSlotNamesStartingWithDashAreRefused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	copyDir(t, filepath.Join("testdata", "stores", "good"), dir)
	t.Setenv("EDITOR", "true")
	for _, args := range [][]string{
		{"dump", filepath.Join(dir, "-quick")},
		{"dump", "--", filepath.Join(dir, "-quick")},
		{"inspect", filepath.Join(dir, "-quick")},
		{"edit", filepath.Join(dir, "-quick")},
		{"import", filepath.Join(dir, "-quick"), filepath.Join(dir, "body.json")},
		{"import", "--", "-"},
	} {
		code, _, errOut := runCLI(args...)
		if code != exitUsage || !strings.Contains(errOut, "starts with '-', which reads as a flag") {
			t.Errorf("%s: exit %d, want %d: %s", strings.Join(args, " "), code, exitUsage, errOut)
		}
	}
}
