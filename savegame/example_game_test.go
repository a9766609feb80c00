package savegame_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/savekit/savekit/savegame"
)

// The game's world as its first release saved it (schema 1), kept in the
// code under another name for the migration...
type HeroV1 struct {
	Name string
	Gold int
}

// ...and as it is now (schema 2).
type Hero struct {
	Name  string
	Coins int64
	Level int
}

// SaveInfo is what the load menu shows of each save, without loading it.
type SaveInfo struct {
	Title string
	Level int
}

// Example_game is a game's whole use of savekit, from the README and go
// doc alone: it autosaves every frame, loads right after saving and gets
// the new state, loads asynchronously behind a loading screen, shows a
// typed load menu, continues from the newest save, migrates a save of
// the previous release with typed structs, and branches on every kind of
// error, importing only savegame.
func Example_game() {
	dir, _ := os.MkdirTemp("", "savegame-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// A save from the first release, made by its own build.
	v1, _ := savegame.Open[HeroV1](dir, &savegame.Options{Schema: 1})
	v1.Save("old", &HeroV1{Name: "Ada", Gold: 120}, nil)
	v1.Close(ctx)

	// This release: schema 2, with the step from 1 to 2 written typed.
	store, err := savegame.Open[Hero](dir, &savegame.Options{
		Schema: 2,
		Migrations: map[uint32]savegame.Migration{
			1: savegame.Migrate(func(old HeroV1) (Hero, error) {
				return Hero{Name: old.Name, Coins: int64(old.Gold), Level: 1}, nil
			}),
		},
	})
	if errors.Is(err, savegame.ErrLocked) {
		fmt.Println("the game is already running")
		return
	}
	defer store.Close(ctx)

	// Autosave every frame: the game thread pays for one copy; a newer
	// save replaces a waiting one.
	hero := &Hero{Name: "Bo"}
	var last *savegame.Pending
	for frame := 1; frame <= 60; frame++ {
		hero.Level = frame
		last = store.Save("auto", hero, &savegame.SaveOptions{
			Meta: SaveInfo{Title: "Forest", Level: hero.Level},
		})
	}
	// Load right after Save returns the state just given to Save.
	got, _, err := store.Load(ctx, "auto")
	fmt.Println("loaded level", got.Level, "err", err, "last save", last.State())

	// A loading screen: poll each frame until the load is ready.
	loading := store.LoadAsync(ctx, "old")
	for !loading.Ready() {
		<-loading.Done() // a game draws a frame here instead
	}
	old, info, err := loading.Result()
	fmt.Printf("migrated %v: %s has %d coins (err %v)\n", info.Migrated, old.Name, old.Coins, err)

	// The load menu: every slot with its typed metadata, bodies unread.
	slots, _ := store.List(ctx)
	for _, s := range slots {
		var m SaveInfo
		s.Meta.Decode(&m)
		fmt.Printf("menu: %s %s %q level %d\n", s.Slot, s.Status, m.Title, m.Level)
	}

	// Continue: the newest save that loads, across slots.
	cont, cinfo, _ := store.Continue(ctx)
	fmt.Println("continue:", cinfo.Slot, cont.Name)

	// Delete never blocks the frame; Load after it finds nothing.
	store.Delete("old")
	_, _, err = store.Load(ctx, "old")

	// Every error kind, told apart with errors.Is.
	switch {
	case err == nil:
		fmt.Println("loaded")
	case errors.Is(err, savegame.ErrNotFound):
		fmt.Println("no save: start a new game")
	case errors.Is(err, savegame.ErrCorrupt):
		fmt.Println("every copy of the save is damaged")
	case errors.Is(err, savegame.ErrTypeMismatch):
		fmt.Println("the save does not fit this build's world type")
	case errors.Is(err, savegame.ErrNewerSchema):
		fmt.Println("saved by a newer version: update the game")
	case errors.Is(err, savegame.ErrMigration):
		fmt.Println("the save could not be migrated")
	case errors.Is(err, savegame.ErrTooLarge):
		fmt.Println("the save is over the limits")
	case errors.Is(err, savegame.ErrInvalidName):
		fmt.Println("bad slot name")
	case errors.Is(err, savegame.ErrClosed):
		fmt.Println("store closed")
	case errors.Is(err, context.Canceled):
		fmt.Println("load cancelled")
	}
	_, _, err = store.Load(ctx, "../etc")
	fmt.Println(errors.Is(err, savegame.ErrInvalidName), err)

	// Output:
	// loaded level 60 err <nil> last save saved
	// migrated true: Ada has 120 coins (err <nil>)
	// menu: auto ok "Forest" level 60
	// menu: old ok "" level 0
	// continue: auto Bo
	// no save: start a new game
	// true savegame: load "../etc": invalid slot name: "../etc" has '.' at byte 0 (letters, digits, '-' and '_' only)
}
