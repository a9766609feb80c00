package savegame_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/savekit/savekit/savegame"
)

type World struct {
	Level  int
	Player Player
	Items  []string
}

type Player struct{ X, Y float32 }

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "savegame-example")
	defer os.RemoveAll(dir)

	store, err := savegame.Open[World](dir, &savegame.Options{Schema: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer store.Close(context.Background())
	fmt.Println("open")
	// Output: open
}

func ExampleStore_Save() {
	dir, _ := os.MkdirTemp("", "savegame-example")
	defer os.RemoveAll(dir)
	store, _ := savegame.Open[World](dir, nil)
	defer store.Close(context.Background())

	world := &World{Level: 3, Items: []string{"sword"}}
	p := store.Save("quick", world, &savegame.SaveOptions{Meta: map[string]any{"title": "Cave"}})
	world.Level = 4 // the game goes on; the save holds the copy taken at Save

	if err := p.Wait(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("saved generation", p.Generation(), "with", p.Stats().Flushes, "flushes")
	// Output: saved generation 1 with 4 flushes
}

func ExampleStore_Load() {
	dir, _ := os.MkdirTemp("", "savegame-example")
	defer os.RemoveAll(dir)
	store, _ := savegame.Open[World](dir, nil)
	defer store.Close(context.Background())

	store.Save("quick", &World{Level: 7, Player: Player{X: 1.5}}, nil).Wait(context.Background())

	world, info, err := store.Load(context.Background(), "quick")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(world.Level, world.Player.X, info.Generation, info.Recovered)
	// Output: 7 1.5 1 false
}

func ExampleStore_List() {
	dir, _ := os.MkdirTemp("", "savegame-example")
	defer os.RemoveAll(dir)
	store, _ := savegame.Open[World](dir, nil)
	defer store.Close(context.Background())

	for i, slot := range []string{"slot1", "slot2"} {
		store.Save(slot, &World{Level: i}, &savegame.SaveOptions{Meta: map[string]any{"title": fmt.Sprintf("Level %d", i)}})
	}
	store.Flush(context.Background())

	list, _ := store.List(context.Background()) // headers and metadata only: cheap enough for a load menu
	for _, info := range list {
		fmt.Println(info.Slot, info.Status, info.Meta["title"], info.Created.After(time.Time{}))
	}
	// Output:
	// slot1 ok Level 0 true
	// slot2 ok Level 1 true
}

// Version 2 of the game renamed Level to Stage. Saves of schema 1 are
// migrated on the generic form when loaded.
func Example_migration() {
	dir, _ := os.MkdirTemp("", "savegame-example")
	defer os.RemoveAll(dir)

	v1, _ := savegame.Open[World](dir, &savegame.Options{Schema: 1})
	v1.Save("quick", &World{Level: 5}, nil).Wait(context.Background())
	v1.Close(context.Background())

	type WorldV2 struct {
		Stage int
		Items []string
	}
	v2, _ := savegame.Open[WorldV2](dir, &savegame.Options{
		Schema: 2,
		Migrations: map[uint32]savegame.Migration{
			1: func(old any) (any, error) {
				m := old.(map[string]any)
				m["Stage"] = m["Level"]
				delete(m, "Level")
				return m, nil
			},
		},
	})
	defer v2.Close(context.Background())
	world, info, err := v2.Load(context.Background(), "quick")
	fmt.Println(world.Stage, info.Schema, info.Migrated, err)
	// Output: 5 1 true <nil>
}
