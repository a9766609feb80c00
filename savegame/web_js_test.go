//go:build js

package savegame_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"syscall/js"
	"testing"
	"time"

	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/slots/vfs"
)

// webDir is a fresh directory in the browser's store for one test, or a
// skip where JavaScript has no IndexedDB (Node); CI runs these tests in
// Chromium.
func webDir(t *testing.T) string {
	t.Helper()
	if !js.Global().Get("indexedDB").Truthy() {
		t.Skip("no IndexedDB here (Node): run in a browser, as .ci/run does")
	}
	return fmt.Sprintf("webtest-%d/saves", time.Now().UnixNano())
}

// A game's code, unchanged, keeps its saves in the browser: no FS is given,
// so the store is IndexedDB, and everything the desktop does works.
func TestWebStoreInTheBrowser(t *testing.T) {
	dir := webDir(t)
	ctx := context.Background()
	if fsys, err := vfs.Default(); err != nil {
		t.Fatal(err)
	} else if _, ok := fsys.(*vfs.IndexedDB); !ok {
		t.Fatalf("the default file system in a browser is %T", fsys)
	}
	store, err := savegame.Open[World](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := savegame.Open[World](dir, nil); !errors.Is(err, savegame.ErrLocked) {
		t.Fatalf("second Open of the same directory: %v, want ErrLocked", err)
	}
	for level := 1; level <= 5; level++ {
		store.Save("auto", &World{Level: level, Items: []string{"sword"}}, &savegame.SaveOptions{Meta: map[string]any{"level": level}})
	}
	if err := store.Save("quick", &World{Level: 9}, nil).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	w, info, err := store.Load(ctx, "auto")
	if err != nil || w.Level != 5 || info.Recovered {
		t.Fatalf("Load: %+v %+v %v", w, info, err)
	}
	// Export gives the standard file, byte for byte what the store holds.
	var exported bytes.Buffer
	if info, err = store.Export(ctx, "auto", &exported); err != nil || exported.Len() == 0 {
		t.Fatalf("Export: %+v %v", info, err)
	}
	fsys, _ := vfs.Default()
	f, err := fsys.OpenFile(path.Join(dir, fmt.Sprintf("auto.%d.sav", info.File)), os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	held := make([]byte, exported.Len()+1)
	n, _ := f.ReadAt(held, 0)
	f.Close()
	if !bytes.Equal(held[:n], exported.Bytes()) {
		t.Fatalf("exported %d bytes differ from the stored file's %d", exported.Len(), n)
	}
	list, err := store.List(ctx)
	if err != nil || len(list) != 2 || list[0].Slot != "auto" || list[1].Slot != "quick" {
		t.Fatalf("List: %+v %v", list, err)
	}
	if err := store.Delete("quick").Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The game started again (a new connection to the database).
	store, err = savegame.Open[World](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	w, info, err = store.Continue(ctx)
	if err != nil || w.Level != 5 || info.Slot != "auto" {
		t.Fatalf("Continue after reopening: %+v %+v %v", w, info, err)
	}
	if _, _, err := store.Load(ctx, "quick"); !errors.Is(err, savegame.ErrNotFound) {
		t.Fatalf("deleted slot: %v", err)
	}
}

// A damaged newest save in the browser's store falls back to the one
// before, as on a disk.
func TestWebDamagedSaveFallsBack(t *testing.T) {
	dir := webDir(t)
	ctx := context.Background()
	store, err := savegame.Open[World](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for level := 1; level <= 2; level++ {
		if err := store.Save("s", &World{Level: level}, nil).Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, info, err := store.Load(ctx, "s")
	if err != nil {
		t.Fatal(err)
	}
	store.Close(ctx)

	// Damage the file that holds the newest save, through the same store.
	fsys, _ := vfs.Default()
	newest := path.Join(dir, fmt.Sprintf("s.%d.sav", info.File))
	f, err := fsys.OpenFile(newest, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := f.Size()
	f.WriteAt([]byte{0xff, 0xff, 0xff, 0xff}, size/2)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = savegame.Open[World](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	w, info, err := store.Load(ctx, "s")
	if err != nil || w.Level != 1 || !info.Recovered || info.Generation != 1 {
		t.Fatalf("Load of a damaged newest save: %+v %+v %v", w, info, err)
	}
}
