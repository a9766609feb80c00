package savegame

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Export writes the file Load chose, byte for byte, including when it
// fell back from a damaged newest save; a slot without a save is
// ErrNotFound and writes nothing.
func TestExportIsTheFileLoadChose(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &Options{Schema: 1})
	ctx := context.Background()
	var buf bytes.Buffer
	if _, err := s.Export(ctx, "a", &buf); !errors.Is(err, ErrNotFound) || buf.Len() != 0 {
		t.Fatalf("export of an empty slot: %v, %d bytes", err, buf.Len())
	}
	for tick := 1; tick <= 2; tick++ {
		if err := s.Save("a", newWorld(1, tick), &SaveOptions{Meta: map[string]any{"tick": tick}}).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	info, err := s.Export(ctx, "a", &buf)
	if err != nil || info.Generation != 2 {
		t.Fatalf("export: %+v %v", info, err)
	}
	file := filepath.Join(dir, fmt.Sprintf("a.%d.sav", info.File))
	onDisk, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), onDisk) {
		t.Fatalf("exported %d bytes differ from %s (%d bytes)", buf.Len(), file, len(onDisk))
	}
	s.Close(ctx)

	// Damage the newest: Export gives the save before, as Load does.
	onDisk[len(onDisk)-1] ^= 0xff
	if err := os.WriteFile(file, onDisk, 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, &Options{Schema: 1})
	buf.Reset()
	info, err = s.Export(ctx, "a", &buf)
	if err != nil || info.Generation != 1 || !info.Recovered {
		t.Fatalf("export after damage: %+v %v", info, err)
	}
	older, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("a.%d.sav", info.File)))
	if !bytes.Equal(buf.Bytes(), older) {
		t.Fatal("export after damage is not the older file")
	}
}
