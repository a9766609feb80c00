package world

import (
	"context"
	"testing"

	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/snapshot"
)

func run(w *World, ticks int) {
	for i := range ticks {
		w.Step(Input{Right: i%50 < 25, Down: i%80 < 40})
	}
}

func TestDeterministic(t *testing.T) {
	a, b := New(42, 500), New(42, 500)
	run(a, 1200)
	run(b, 1200)
	if a.Digest() != b.Digest() {
		t.Fatal("the same seed and inputs gave different worlds")
	}
	c := New(43, 500)
	run(c, 1200)
	if c.Digest() == a.Digest() {
		t.Fatal("different seeds gave the same digest")
	}
	d := New(42, 500)
	run(d, 1199)
	if d.Digest() == a.Digest() {
		t.Fatal("one tick made no difference to the digest")
	}
	if a.Score == 0 || a.Tick != 1200 {
		t.Fatalf("the player scored %d in %d ticks", a.Score, a.Tick)
	}
}

// TestSaveLoadGoesOnIdentically: a world saved and loaded through savegame
// has the same digest and plays on exactly as the original.
func TestSaveLoadGoesOnIdentically(t *testing.T) {
	ctx := context.Background()
	s, err := savegame.Open[World](t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	w := New(7, 2000)
	run(w, 120)
	if err := s.Save("auto", w, nil).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	loaded, _, err := s.Load(context.Background(), "auto")
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Digest() != w.Digest() {
		t.Fatal("the loaded world differs from the saved one")
	}
	run(w, 200)
	run(loaded, 200)
	if loaded.Digest() != w.Digest() {
		t.Fatal("the loaded world played on differently")
	}
}

func TestSnapshotDoesRealWork(t *testing.T) {
	c, err := snapshot.For[World]()
	if err != nil {
		t.Fatal(err)
	}
	w := New(1, 100)
	cp, _ := c.Copy(w)
	before := cp.Digest()
	run(w, 100)
	if cp.Digest() != before || cp.Digest() == w.Digest() {
		t.Fatal("the snapshot followed the world")
	}
}
