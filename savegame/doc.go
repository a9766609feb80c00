// Package savegame is what a game imports to save and load its world
// without frame hitches, durably.
//
// Save copies the world on the calling goroutine (the game thread pays for
// one copy, planned once per type by package snapshot) and returns a
// Pending at once. The store's writer goroutine encodes the copy into the
// save format (package format) and commits it to the slot's inactive file
// (package slots); the Pending resolves when the save is durable: "saved"
// means it survives a power cut. Per slot at most one save is in flight
// and one waits; a newer Save replaces the waiting one, whose Pending then
// resolves with the newer save's result, so saving every frame costs at
// most two copies of the world in memory.
//
// Load returns the newest save given to Save for the slot (waiting for
// one still being written), or the one before it if
// the newest was damaged, and says so (Info.Recovered). LoadAsync does it
// behind a loading screen; Continue finds the newest save across slots;
// List reads headers and metadata only, for load menus, and metadata comes
// back as the game's own struct (Meta.Decode). Every error matches one of
// savegame's kinds with errors.Is (ErrNotFound, ErrCorrupt,
// ErrTypeMismatch, ErrNewerSchema, ErrLocked ...). Saves carry the game's
// schema version: Load migrates older saves step by step through the
// registered Migrations, refuses newer ones (ErrNewerSchema), and Save
// never overwrites a newer save unless forced.
//
// A complete game loop:
//
//	type World struct {
//		Level  int
//		Player struct{ X, Y float32 }
//		Items  []string
//	}
//	type Menu struct{ Level int } // what the load menu shows
//
//	dir, _ := savegame.DefaultDir("mygame")
//	store, err := savegame.Open[World](dir, &savegame.Options{Schema: 1})
//	if err != nil {
//		log.Fatal(err) // an uncopyable World fails here, at start-up
//	}
//	defer store.Close(context.Background())
//
//	world, info, err := store.Load(context.Background(), "auto")
//	switch {
//	case errors.Is(err, savegame.ErrNotFound):
//		world = newWorld()
//	case err != nil:
//		log.Fatal(err)
//	case info.Recovered:
//		showBanner("Your last save was damaged; loaded the one before it.")
//	}
//
//	var pending *savegame.Pending
//	for frame := 0; ; frame++ {
//		update(world)
//		if frame%600 == 0 {
//			pending = store.Save("auto", world, &savegame.SaveOptions{
//				Meta: Menu{Level: world.Level}, // a struct of the game's, or a map
//			})
//		}
//		if pending != nil && pending.State() == savegame.StateFailed {
//			showError(pending.Err()) // the previous save still loads
//		}
//	}
//
// A save that is acknowledged loads. Save proves, before acknowledging,
// that what Load decodes generically (the metadata, values held in an
// interface) decodes; what does not is refused with ErrMetadata or
// ErrUnloadable, naming the key or field, and nothing is written. Open refuses world types no
// save of which could load (interface types with methods, funcs, structs
// of which nothing is saved), naming the field and the fix. Save never
// panics: a panic while copying or encoding fails the Pending (ErrPanic).
// A pointer shared between two places is saved but reported
// (Options.OnWarning, ErrShared): after a load the places hold separate
// copies.
//
// Example_game shows a whole game's use: autosave every frame, Load right
// after Save, a loading screen, a typed load menu, Continue, a typed
// migration, Delete, and every kind of error.
//
// A game whose world type the snapshot package cannot copy (a custom
// marshaler holding pointers) sets Options.EncodeOnCaller: Save then
// encodes on the caller instead, slower but safe.
package savegame
