// Command quickstart saves a small world with savegame, damages the newest
// save as a torn write would, and shows Load recovering the one before it.
// It is the README's run command until the demo game exists.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/savekit/savekit/savegame"
)

type World struct {
	Level  int
	Player struct{ X, Y float32 }
	Items  []string
}

func main() {
	dir, err := os.MkdirTemp("", "savekit-quickstart-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	store, err := savegame.Open[World](dir, &savegame.Options{Schema: 1})
	if err != nil {
		log.Fatal(err)
	}
	world := &World{Level: 1, Items: []string{"sword"}}
	for level := 1; level <= 2; level++ {
		world.Level = level
		p := store.Save("quick", world, &savegame.SaveOptions{Meta: map[string]any{"title": fmt.Sprintf("Level %d", level)}})
		if err := p.Wait(ctx); err != nil {
			log.Fatal(err)
		}
		st := p.Stats()
		fmt.Printf("saved level %d as generation %d: %d bytes, %d flushes, %v on the caller, %v to durable\n",
			level, p.Generation(), st.Bytes, st.Flushes, st.Snapshot, st.Total)
	}
	loaded, info, err := store.Load("quick")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("load: level %d, generation %d, from file %s\n", loaded.Level, info.Generation, []string{"A", "B"}[info.File])
	store.Close(ctx)

	// A power cut tears the newest save: zero its last 40 bytes.
	newest := filepath.Join(dir, fmt.Sprintf("quick.%d.sav", info.File))
	b, err := os.ReadFile(newest)
	if err != nil {
		log.Fatal(err)
	}
	clear(b[len(b)-40:])
	if err := os.WriteFile(newest, b, 0o600); err != nil {
		log.Fatal(err)
	}
	fmt.Println("tore the last 40 bytes of", filepath.Base(newest))

	store, err = savegame.Open[World](dir, &savegame.Options{Schema: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close(ctx)
	loaded, info, err = store.Load("quick")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("load: level %d, generation %d, recovered=%v\n  because %s\n", loaded.Level, info.Generation, info.Recovered, info.Reason)
}
