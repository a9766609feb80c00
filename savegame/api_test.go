package savegame

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/savekit/savekit/slots/vfs"
)

// slowDisk makes every flush wait, so a save is still in flight when the
// test's next call runs.
func slowDisk() vfs.FS {
	return vfs.NewFaultFS(vfs.OS{}, vfs.Rule{Kind: vfs.OpDatasync, Times: -1, Delay: 30 * time.Millisecond})
}

// TestLoadSeesTheSaveJustMade: Load right after Save returns the world
// given to Save, not the save before it, even while that save is still
// being written; List shows it too.
func TestLoadSeesTheSaveJustMade(t *testing.T) {
	s := open(t, t.TempDir(), &Options{FS: slowDisk()})
	defer s.Close(bg)
	if err := s.Save("q", newWorld(1, 1), nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	for tick := 2; tick <= 6; tick++ {
		// On this disk the save is still being written when Load starts
		// (Save returns at once; its flushes take 30 ms each), so Load
		// has to wait for it; a Load that read the disk at once would
		// return the tick before.
		p := s.Save("q", newWorld(1, tick), nil)
		w, info, err := s.Load(bg, "q")
		if err != nil || w.Tick != tick || info.Generation != p.Generation() {
			t.Fatalf("Load right after Save of tick %d: %v, tick %v, generation %d (save's %d)", tick, err, w, info.Generation, p.Generation())
		}
	}
	list, err := s.List(bg)
	if err != nil || len(list) != 1 || list[0].Generation != 6 {
		t.Fatalf("List: %+v %v", list, err)
	}
	// A context that ends first bounds the wait.
	s.Save("q", newWorld(1, 7), nil)
	ctx, cancel := context.WithCancel(bg)
	cancel()
	if _, _, err := s.Load(ctx, "q"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Load with a cancelled context: %v", err)
	}
}

// TestDeleteNeverWaitsForTheDisk: Delete returns at once, Load after it
// finds no save, and a Save after it is the slot's only save.
func TestDeleteNeverWaitsForTheDisk(t *testing.T) {
	gate := &gateFS{FS: vfs.OS{}, entered: make(chan struct{}, 1), open: make(chan struct{})}
	s := open(t, t.TempDir(), &Options{FS: gate})
	defer s.Close(bg)
	gate.closed.Store(true)
	s.Save("q", newWorld(1, 1), nil)
	<-gate.entered // the writer holds the save, at its first flush
	d := s.Delete("q")
	if d.State() != StatePending {
		t.Fatalf("Delete behind a save the disk holds: %v %v", d.State(), d.Err())
	}
	gate.closed.Store(false)
	close(gate.open)
	if _, _, err := s.Load(bg, "q"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Delete: %v, want ErrNotFound", err)
	}
	if d.State() != StateSaved {
		t.Fatalf("Delete after Load: %v %v", d.State(), d.Err())
	}
	s.Save("q", newWorld(1, 2), nil)
	s.Delete("q")
	p := s.Save("q", newWorld(1, 3), nil)
	if w, info, err := s.Load(bg, "q"); err != nil || w.Tick != 3 || info.Generation != p.Generation() {
		t.Fatalf("Save, Delete, Save then Load: %v %+v %+v", err, w, info)
	}
}

// TestSaveReplacedByDeleteFails: a save still waiting when a Delete of
// its slot comes is never written, and its Pending says so at once.
func TestSaveReplacedByDeleteFails(t *testing.T) {
	gate := &gateFS{FS: vfs.OS{}, entered: make(chan struct{}, 1), open: make(chan struct{})}
	s := open(t, t.TempDir(), &Options{FS: gate})
	defer s.Close(bg)
	gate.closed.Store(true)
	inFlight := s.Save("q", newWorld(1, 2), nil)
	<-gate.entered // the writer holds this save, at its first flush
	waiting := s.Save("q", newWorld(1, 3), nil)
	s.Delete("q")
	if waiting.State() != StateFailed || !errors.Is(waiting.Err(), errReplacedByDelete) {
		t.Fatalf("a save replaced by a Delete: %v %v", waiting.State(), waiting.Err())
	}
	gate.closed.Store(false)
	close(gate.open)
	if err := inFlight.Wait(bg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(bg, "q"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Save, Save, Delete: %v, want ErrNotFound", err)
	}
}

// gateFS holds every flush while closed is set, until open is closed,
// telling entered when the first one waits.
type gateFS struct {
	vfs.FS
	closed  atomic.Bool
	entered chan struct{}
	open    chan struct{}
}

func (g *gateFS) OpenFile(name string, flag int) (vfs.File, error) {
	f, err := g.FS.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return gateFile{f, g}, nil
}

func (g *gateFS) CreateTemp(dir, prefix string) (vfs.File, error) {
	f, err := g.FS.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	return gateFile{f, g}, nil
}

type gateFile struct {
	vfs.File
	g *gateFS
}

func (f gateFile) Datasync() error {
	if f.g.closed.Load() {
		select {
		case f.g.entered <- struct{}{}:
		default:
		}
		<-f.g.open
	}
	return f.File.Datasync()
}

// TestErrorKindsAreTold: a save that does not fit the game's type is
// ErrTypeMismatch naming the field and both types, never ErrCorrupt; a
// damaged one is ErrCorrupt; each message says "savegame" once.
func TestErrorKindsAreTold(t *testing.T) {
	dir := t.TempDir()
	type v1 struct {
		Name  string
		Score int
	}
	type v2 struct {
		Name  string
		Score string
	}
	a, err := Open[v1](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Save("s", &v1{"x", 5000}, nil).Wait(bg)
	a.Save("s", &v1{"x", 5001}, nil)
	a.Close(bg)
	b, err := Open[v2](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.Load(bg, "s")
	if !errors.Is(err, ErrTypeMismatch) || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) ||
		!strings.Contains(err.Error(), ".Score") || !strings.Contains(err.Error(), "an integer (5001)") || !strings.Contains(err.Error(), "string") {
		t.Fatalf("Load into a type whose field changed: %v", err)
	}
	if n := strings.Count(err.Error(), "savegame"); n != 1 {
		t.Fatalf("the message says savegame %d times: %v", n, err)
	}
	b.Close(bg)

	// The newest file damaged, the other intact but of the old type: the
	// game's type is the problem, not a lost save.
	flipLast := func(f string) {
		t.Helper()
		p := filepath.Join(dir, f)
		buf, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		buf[len(buf)-1] ^= 0xff
		if err := os.WriteFile(p, buf, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flipLast("s.1.sav")
	b, err = Open[v2](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = b.Load(bg, "s")
	if !errors.Is(err, ErrTypeMismatch) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Load with one file damaged and one of another type: %v", err)
	}
	b.Close(bg)
	flipLast("s.0.sav")

	c, err := Open[v1](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(bg)
	_, _, err = c.Load(bg, "s")
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrTypeMismatch) || strings.Count(err.Error(), "savegame") != 1 {
		t.Fatalf("Load of a slot whose files are both damaged: %v", err)
	}
	if _, err := Open[v1](dir, nil); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "another copy of the game") || strings.Count(err.Error(), "savegame") != 1 {
		t.Fatalf("a second Open: %v, want ErrLocked saying what to do", err)
	}
	if _, _, err := c.Load(bg, "nope"); !errors.Is(err, ErrNotFound) || err.Error() != `savegame: load "nope": no save in this slot` {
		t.Fatalf("Load of a slot never saved: %v", err)
	}
	// Continue finds nothing that loads: not found, and why, once.
	_, _, err = c.Continue(bg)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrCorrupt) || strings.Count(err.Error(), "savegame") != 1 || !strings.Contains(err.Error(), `"s": no file of the slot holds a valid save`) {
		t.Fatalf("Continue with only a damaged slot: %v", err)
	}
}

// TestGenericValuesAreNormalized: metadata and a migration's input hold
// int64 and float64 whatever width msgpack chose for each number.
func TestGenericValuesAreNormalized(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	err := s.Save("q", newWorld(1, 1), &SaveOptions{Meta: map[string]any{
		"small": 3, "neg": -2, "big": 1 << 40, "ratio": float32(0.5), "list": []any{uint8(200)},
	}}).Wait(bg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := s.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	m := list[0].Meta
	if m["small"] != int64(3) || m["neg"] != int64(-2) || m["big"] != int64(1<<40) || m["ratio"] != float64(0.5) || m["list"].([]any)[0] != int64(200) {
		t.Fatalf("metadata as List returns it: %#v", m)
	}
	s.Close(bg)

	var seen any
	s2 := open(t, dir, &Options{Schema: 1, Migrations: map[uint32]Migration{0: func(g any) (any, error) {
		seen = g.(map[string]any)["Tick"]
		return g, nil
	}}})
	defer s2.Close(bg)
	if _, _, err := s2.Load(bg, "q"); err != nil {
		t.Fatal(err)
	}
	if seen != int64(1) {
		t.Fatalf("a migration received Tick as %T %v, want int64", seen, seen)
	}
}

// TestTypedMetadata: a struct given as metadata comes back through List
// as the same struct.
func TestTypedMetadata(t *testing.T) {
	type menu struct {
		Title    string
		Level    int8
		PlayTime time.Duration
		Thumb    []byte
	}
	s := open(t, t.TempDir(), nil)
	defer s.Close(bg)
	want := menu{"Cave", 3, 90 * time.Minute, []byte{1, 2, 3}}
	if err := s.Save("q", newWorld(1, 1), &SaveOptions{Meta: &want}).Wait(bg); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	var got menu
	if err := list[0].Meta.Decode(&got); err != nil || got.Title != want.Title || got.Level != want.Level || got.PlayTime != want.PlayTime || string(got.Thumb) != string(want.Thumb) {
		t.Fatalf("metadata back from List: %+v %v; want %+v", got, err, want)
	}
	if err := s.Save("q", newWorld(1, 2), &SaveOptions{Meta: 42}).Wait(bg); !errors.Is(err, ErrMetadata) {
		t.Fatalf("a number as metadata: %v, want ErrMetadata", err)
	}
}

// TestMigrationsKeepEveryFieldType: a world with float32 and int8 fields
// migrates through a generic migration and a typed one (normalization
// widens them to float64 and int64 for the migration; Load narrows them
// back), and a migrated world of a few MB is not refused by the decode
// bound, which a generic decode of it exceeds at 8x.
func TestMigrationsKeepEveryFieldType(t *testing.T) {
	type w0 struct {
		X   float32
		Lvl int8
		NaN float32
		E   []struct{ X, Y int }
	}
	type w1 struct {
		X   float32
		Lvl int8
		NaN float32
		E   []struct{ X, Y int }
		New string
	}
	dir := t.TempDir()
	a, err := Open[w0](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Small numbers: a few bytes per element encoded, over 40 bytes each
	// decoded generically.
	big := make([]struct{ X, Y int }, 500_000)
	for i := range big {
		big[i].X, big[i].Y = i%7, -(i % 9)
	}
	if err := a.Save("q", &w0{X: 1.25, Lvl: -3, NaN: float32(math.NaN()), E: big}, nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	a.Close(bg)
	for _, m := range []struct {
		name string
		mig  Migration
	}{
		{"generic", func(g any) (any, error) { g.(map[string]any)["New"] = "yes"; return g, nil }},
		{"typed", Migrate(func(o w0) (w1, error) { return w1{X: o.X, Lvl: o.Lvl, NaN: o.NaN, E: o.E, New: "yes"}, nil })},
		{"arithmetic on a float32", func(g any) (any, error) {
			m := g.(map[string]any)
			m["X"] = m["X"].(float64) * 1.0000001 // not exact in a float32: rounded as Go assigns it
			m["New"] = "yes"
			return m, nil
		}},
	} {
		t.Run(m.name, func(t *testing.T) {
			s, err := Open[w1](dir, &Options{Schema: 1, Migrations: map[uint32]Migration{0: m.mig}})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(bg)
			w, info, err := s.Load(bg, "q")
			if err != nil || !info.Migrated || w.X != float32(1.25*1.0000001) && w.X != 1.25 || w.Lvl != -3 || !math.IsNaN(float64(w.NaN)) || len(w.E) != len(big) || w.E[7].Y != -7 || w.E[10].Y != -1 || w.New != "yes" {
				t.Fatalf("migrated Load: %v %+v", err, info)
			}
		})
	}
}

// TestTypedMetadataComesBackAsSaved: metadata with narrow fields (what
// normalization widens) comes back through List as the struct saved.
func TestTypedMetadataComesBackAsSaved(t *testing.T) {
	type menu struct {
		Lvl   int8
		Ratio float32
		Flags []uint16
		Extra any
		Tags  map[string]any
	}
	s := open(t, t.TempDir(), nil)
	defer s.Close(bg)
	want := menu{-3, 0.1, []uint16{7, 65535}, 0.5, map[string]any{"f": 0.25}}
	if err := s.Save("q", newWorld(1, 1), &SaveOptions{Meta: want}).Wait(bg); err != nil {
		t.Fatal(err)
	}
	list, err := s.List(bg)
	if err != nil {
		t.Fatal(err)
	}
	var got menu
	if err := list[0].Meta.Decode(&got); err != nil || got.Lvl != want.Lvl || got.Ratio != want.Ratio || len(got.Flags) != 2 || got.Flags[1] != 65535 ||
		got.Extra != 0.5 || got.Tags["f"] != 0.25 {
		t.Fatalf("metadata back from List: %+v %v; want %+v", got, err, want)
	}
}

// TestTypeMismatchNamesTheFieldThatFails: of two changed fields, the one
// that does not decode is named, with both types, inside nested values.
func TestTypeMismatchNamesTheFieldThatFails(t *testing.T) {
	type inner struct{ A, B int }
	type old struct{ In []inner }
	type innerNew struct {
		A uint
		B string
	}
	type cur struct{ In []innerNew }
	dir := t.TempDir()
	a, err := Open[old](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Save("s", &old{In: []inner{{1, 2}, {-1, 7}}}, nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	a.Close(bg)
	b, err := Open[cur](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(bg)
	_, _, err = b.Load(bg, "s")
	if !errors.Is(err, ErrTypeMismatch) || !strings.Contains(err.Error(), "cur.In[0].B: the save holds an integer (2), the game's type is string") {
		t.Fatalf("Load: %v", err)
	}
}

// TestCallbacksMayLoadAndList: OnSaved and OnFailed may call Load, List
// and Continue, which see the save just settled, without waiting for the
// Pendings that resolve only after the callbacks return.
func TestCallbacksMayLoadAndList(t *testing.T) {
	// Short: a callback that waits for a Pending would wait forever.
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	type seen struct {
		tick int
		n    int
		err  error
	}
	got := make(chan seen, 4)
	fsys := vfs.NewFaultFS(vfs.OS{})
	var s *Store[tWorld]
	s = open(t, t.TempDir(), &Options{
		FS: fsys,
		OnSaved: func(slot string, gen uint64, st Stats) {
			w, _, err := s.Load(ctx, slot)
			list, lerr := s.List(ctx)
			_, _, cerr := s.Continue(ctx)
			var tick int
			if w != nil {
				tick = w.Tick
			}
			got <- seen{tick, len(list), errors.Join(err, lerr, cerr)}
		},
		OnFailed: func(slot string, err error) {
			w, _, lerr := s.Load(ctx, slot)
			var tick int
			if w != nil {
				tick = w.Tick
			}
			got <- seen{tick, 0, lerr}
		},
	})
	defer s.Close(bg)
	if err := s.Save("q", newWorld(1, 5), nil).Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g.err != nil || g.tick != 5 || g.n != 1 {
		t.Fatalf("OnSaved's Load, List and Continue: %+v", g)
	}
	// A save the disk fails: the callback's Load gets the save before
	// it, which is what the slot holds.
	fsys.AddRule(vfs.Rule{Kind: vfs.OpDatasync, Err: vfs.EIO, Times: -1})
	if err := s.Save("q", newWorld(1, 6), nil).Wait(ctx); !errors.Is(err, syscall.EIO) {
		t.Fatalf("a save on a failing disk: %v", err)
	}
	if g := <-got; g.err != nil || g.tick != 5 {
		t.Fatalf("OnFailed's Load: %+v", g)
	}
	// Load made while that save was queued reports its failure, saying
	// savegame once.
	s2 := open(t, t.TempDir(), &Options{FS: vfs.NewFaultFS(vfs.OS{}, vfs.Rule{Kind: vfs.OpDatasync, Err: vfs.EIO, Times: -1, Delay: 20 * time.Millisecond})})
	defer s2.Close(bg)
	s2.Save("q", newWorld(1, 7), nil)
	_, _, err := s2.Load(ctx, "q")
	if !errors.Is(err, syscall.EIO) || strings.Count(err.Error(), "savegame") != 1 || !strings.Contains(err.Error(), "last Save or Delete") {
		t.Fatalf("Load behind a failing save: %v", err)
	}
}

// TestContinuePicksTheNewestSaveThatLoads: a slot whose newest save is
// damaged competes with the save it falls back to, not the damaged one.
func TestContinuePicksTheNewestSaveThatLoads(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	for _, sv := range []struct {
		slot string
		tick int
	}{{"a", 1}, {"b", 2}, {"a", 3}} {
		if err := s.Save(sv.slot, newWorld(1, sv.tick), nil).Wait(bg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	s.Close(bg)
	// a's newest save (tick 3, in a.1.sav) loses its last byte.
	p := filepath.Join(dir, "a.1.sav")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, nil)
	defer s.Close(bg)
	w, info, err := s.Continue(bg)
	if err != nil || info.Slot != "b" || w.Tick != 2 {
		t.Fatalf("Continue: %v, slot %q tick %v; want b's tick 2 (a falls back to tick 1)", err, info.Slot, w)
	}
}

// TestCallbackCallsTheStoreWhileSavesQueue: a callback that calls List or
// Load while the game has made more saves does not hold up the writer
// those calls wait for.
func TestCallbackCallsTheStoreWhileSavesQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	inCallback := make(chan struct{})
	saved := make(chan struct{})
	done := make(chan error, 1)
	var s *Store[tWorld]
	first := true
	s = open(t, t.TempDir(), &Options{OnSaved: func(slot string, gen uint64, st Stats) {
		if !first {
			return
		}
		first = false
		close(inCallback)
		<-saved // the game saves "a" again and "b" meanwhile
		_, err := s.List(ctx)
		if err == nil {
			_, _, err = s.Load(ctx, "a")
		}
		done <- err
	}})
	defer s.Close(bg)
	s.Save("a", newWorld(1, 1), nil)
	<-inCallback
	s.Save("a", newWorld(1, 2), nil)
	s.Save("b", newWorld(1, 3), nil)
	close(saved)
	if err := <-done; err != nil {
		t.Fatalf("List and Load in a callback, with saves queued: %v", err)
	}
}
