package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savekit/savekit/savegame"
)

// A save that a game exported (a web build's download button, a support
// request) is a standard file: inspect checks it and dump reads it.
func TestExportedSaveReadsInTheCLI(t *testing.T) {
	type world struct {
		Level int
		Name  string
	}
	ctx := context.Background()
	store, err := savegame.Open[world](filepath.Join(t.TempDir(), "saves"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	store.Save("quick", &world{Level: 4, Name: "Ada"}, nil)
	out := filepath.Join(t.TempDir(), "quick.sav")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Export(ctx, "quick", f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI("inspect", out); code != exitOK || !strings.Contains(stdout, "generation 1") {
		t.Fatalf("inspect of the exported file: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runCLI("dump", out); code != exitOK || !strings.Contains(stdout, `"Name": "Ada"`) {
		t.Fatalf("dump of the exported file: exit %d\n%s%s", code, stdout, stderr)
	}
}
