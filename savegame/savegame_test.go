package savegame

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/savekit/savekit/slots/vfs"
)

type tWorld struct {
	Owner  int
	Tick   int
	Sum    int // Owner + Tick + len(Items): a consistency check on what loads
	Items  []string
	Scores map[string]int
}

func newWorld(owner, tick int) *tWorld {
	w := &tWorld{Owner: owner, Tick: tick, Scores: map[string]int{"t": tick}}
	for i := range tick % 5 {
		w.Items = append(w.Items, fmt.Sprint("item", i))
	}
	w.Sum = owner + tick + len(w.Items)
	return w
}

func (w *tWorld) consistent() bool {
	return w.Sum == w.Owner+w.Tick+len(w.Items) && w.Scores["t"] == w.Tick
}

var bg = context.Background()

func open(t testing.TB, dir string, o *Options) *Store[tWorld] {
	t.Helper()
	s, err := Open[tWorld](dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSaveLoadListDelete(t *testing.T) {
	dir := t.TempDir()
	var saved atomic.Int32
	s := open(t, dir, &Options{Schema: 2, OnSaved: func(string, uint64, Stats) { saved.Add(1) }})
	if _, _, err := s.Load(context.Background(), "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("empty: %v", err)
	}
	w := newWorld(1, 7)
	p := s.Save("a", w, &SaveOptions{Meta: map[string]any{"title": "Cave"}})
	w.Tick = 999 // after Save: must not reach the save
	if err := p.Wait(bg); err != nil {
		t.Fatal(err)
	}
	st := p.Stats()
	if p.Generation() != 1 || st.Flushes != 4 || st.Bytes == 0 || st.Total <= 0 || st.Snapshot <= 0 {
		t.Fatalf("pending: gen %d stats %+v", p.Generation(), st)
	}
	got, info, err := s.Load(context.Background(), "a")
	if err != nil || got.Tick != 7 || !got.consistent() || info.Generation != 1 || info.Schema != 2 || info.Meta["title"] != "Cave" {
		t.Fatalf("load: %+v %+v %v", got, info, err)
	}
	s.Save("b", newWorld(2, 1), nil).Wait(bg)
	list, err := s.List(context.Background())
	if err != nil || len(list) != 2 || list[0].Slot != "a" || list[0].Meta["title"] != "Cave" || list[1].Slot != "b" {
		t.Fatalf("list: %+v %v", list, err)
	}
	if err := s.Delete("a").Wait(bg); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(context.Background(), "a"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if err := s.Close(bg); err != nil {
		t.Fatal(err)
	}
	if saved.Load() != 2 {
		t.Fatalf("OnSaved called %d times", saved.Load())
	}
	if err := s.Save("a", w, nil).Wait(bg); !errors.Is(err, ErrClosed) {
		t.Fatalf("save after close: %v", err)
	}
	// The lock was released.
	s2 := open(t, dir, nil)
	s2.Close(bg)
	if err := s.Save("bad/name", w, nil).Err(); err == nil {
		t.Fatal("invalid slot name accepted")
	}
}

// slowFS makes every flush take d, so saves pile up behind one in flight.
func slowFS(inner vfs.FS, d time.Duration) *vfs.FaultFS {
	return vfs.NewFaultFS(inner, vfs.Rule{Kind: vfs.OpDatasync, Delay: d, Times: -1})
}

func TestNewerSaveReplacesWaitingOne(t *testing.T) {
	s := open(t, t.TempDir(), &Options{FS: slowFS(vfs.OS{}, 30*time.Millisecond)})
	defer s.Close(bg)
	first := s.Save("q", newWorld(0, 0), nil)
	var ps []*Pending
	for i := 1; i <= 20; i++ {
		ps = append(ps, s.Save("q", newWorld(0, i), nil))
	}
	if err := s.Flush(bg); err != nil {
		t.Fatal(err)
	}
	if first.Err() != nil || first.Generation() != 1 {
		t.Fatalf("first: %v gen %d", first.Err(), first.Generation())
	}
	// The first save went in flight (possibly after a few more arrived and
	// joined it); every later one coalesced into a single second save, so
	// there are at most two commits, and the saves that joined one share
	// its result.
	for i, p := range ps {
		g := p.Generation()
		if p.Err() != nil || g < 1 || g > 2 || i > 0 && g < ps[i-1].Generation() {
			var all []uint64
			for _, q := range ps {
				all = append(all, q.Generation())
			}
			t.Fatalf("save %d: %v gen %d; all: %v", i+1, p.Err(), g, all)
		}
		if i > 0 && g == ps[i-1].Generation() && p.Stats() != ps[i-1].Stats() {
			t.Fatalf("saves %d and %d share generation %d but not its stats", i, i+1, g)
		}
	}
	lastGen := ps[len(ps)-1].Generation()
	w, info, err := s.Load(context.Background(), "q")
	if err != nil || w.Tick != 20 || info.Generation != lastGen {
		t.Fatalf("loaded tick %d gen %d: %v", w.Tick, info.Generation, err)
	}
}

// TestConcurrentSavesLoadsLists: 64 goroutines save to 8 slots while others
// load and list (run under -race in CI).
func TestConcurrentSavesLoadsLists(t *testing.T) {
	s := open(t, t.TempDir(), &Options{FS: vfs.NewCrashFS()})
	defer s.Close(bg)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorld(g, 0)
			for i := range 15 {
				w.Tick = i
				w.Items = append(w.Items, "x")
				w.Scores["t"] = i
				w.Sum = w.Owner + w.Tick + len(w.Items)
				if p := s.Save(fmt.Sprint("slot", g%8), w, nil); i == 14 {
					if err := p.Wait(bg); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for r := range 6 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r%2 == 0 {
					if w, _, err := s.Load(context.Background(), fmt.Sprint("slot", r)); err == nil && !w.consistent() {
						t.Error("loaded an inconsistent world")
					} else if err != nil && !errors.Is(err, ErrNotFound) {
						t.Error(err)
					}
				} else if _, err := s.List(context.Background()); err != nil {
					t.Error(err)
				}
				// Under WebAssembly goroutines are never preempted: a
				// reader that never blocks would starve the savers.
				runtime.Gosched()
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	s.Flush(bg)
	for i := range 8 {
		w, _, err := s.Load(context.Background(), fmt.Sprint("slot", i))
		if err != nil || !w.consistent() || w.Owner%8 != i {
			t.Fatalf("slot%d: %+v %v", i, w, err)
		}
	}
}

// TestSoakWithCrashes saves thousands of times with power cuts in between,
// at random moments, with saves in flight: every reopen must load the last
// acknowledged state of every slot (or a newer one being saved), and no
// goroutine or file handle may leak.
func TestSoakWithCrashes(t *testing.T) {
	rounds := 150
	if testing.Short() {
		rounds = 20
	}
	baseline := runtime.NumGoroutine()
	fsys := vfs.NewCrashFS()
	r := rand.New(rand.NewPCG(1, 2))
	// Ticks are unique across all saves: what loads must be a tick saved
	// to that slot, no older than the last acknowledged one. (Generations
	// of saves a power cut lost are used again, so they cannot name
	// saves across rounds.)
	lastTick := map[string]int{}
	lastGen := map[string]uint64{}
	savedTicks := map[string]map[int]bool{}
	saves := 0
	tick := 0
	for round := range rounds {
		s := open(t, "/saves", &Options{FS: fsys})
		for slot, want := range lastTick {
			w, info, err := s.Load(context.Background(), slot)
			if err != nil {
				t.Fatalf("round %d: %s: %v", round, slot, err)
			}
			if w.Tick < want || info.Generation < lastGen[slot] || !savedTicks[slot][w.Tick] || !w.consistent() {
				t.Fatalf("round %d: %s loaded tick %d generation %d, acknowledged tick %d generation %d", round, slot, w.Tick, info.Generation, want, lastGen[slot])
			}
		}
		type sent struct {
			slot string
			p    *Pending
			tick int
		}
		var inflight []sent
		for range 5 + r.IntN(30) {
			slot := fmt.Sprint("s", r.IntN(3))
			tick++
			if savedTicks[slot] == nil {
				savedTicks[slot] = map[int]bool{}
			}
			savedTicks[slot][tick] = true
			inflight = append(inflight, sent{slot, s.Save(slot, newWorld(0, tick), nil), tick})
			saves++
		}
		if r.IntN(2) == 0 {
			time.Sleep(time.Duration(r.IntN(200)) * time.Microsecond)
		} else {
			s.Flush(bg)
		}
		// Note what was acknowledged before the power cut, then cut it.
		for _, sn := range inflight {
			if sn.p.Err() == nil && sn.p.Generation() > 0 && sn.tick > lastTick[sn.slot] {
				lastTick[sn.slot], lastGen[sn.slot] = sn.tick, sn.p.Generation()
			}
		}
		crashed := fsys.Crash(uint64(round))
		// The old process's writer finishes against the old file system,
		// which is then discarded.
		if err := s.Close(bg); err != nil {
			t.Fatal(err)
		}
		if n := fsys.OpenFiles(); n != 0 {
			t.Fatalf("round %d: %d files left open", round, n)
		}
		fsys = crashed
	}
	t.Logf("soak: %d saves, %d power cuts", saves, rounds)
	for range 50 {
		if runtime.NumGoroutine() <= baseline {
			break
		}
		time.Sleep(10 * time.Millisecond) // goroutines that returned may not have exited yet
	}
	if n := runtime.NumGoroutine(); n > baseline {
		t.Fatalf("goroutines: %d at start, %d at the end", baseline, n)
	}
}

func TestErrorsReachPendingAndCallback(t *testing.T) {
	for _, c := range []struct {
		name string
		rule vfs.Rule
		is   error
	}{
		{"full disk", vfs.Rule{Kind: vfs.OpWrite, Err: vfs.ENOSPC, Times: -1}, syscall.ENOSPC},
		{"failed fsync", vfs.Rule{Kind: vfs.OpDatasync, Err: vfs.EIO, Times: -1}, syscall.EIO},
		{"read-only directory", vfs.Rule{Kind: vfs.OpOpen, Err: vfs.EROFS, Times: -1}, syscall.EROFS},
		{"short write", vfs.Rule{Kind: vfs.OpWrite, Err: vfs.ErrShortWrite, Times: -1}, io.ErrShortWrite},
	} {
		t.Run(c.name, func(t *testing.T) {
			ff := vfs.NewFaultFS(vfs.NewCrashFS())
			var failures []error
			var mu sync.Mutex
			s := open(t, "/saves", &Options{FS: ff, OnFailed: func(_ string, err error) {
				mu.Lock()
				failures = append(failures, err)
				mu.Unlock()
			}})
			defer s.Close(bg)
			for i := 1; i <= 3; i++ {
				if err := s.Save("q", newWorld(0, i), nil).Wait(bg); err != nil {
					t.Fatal(err)
				}
			}
			ff.AddRule(c.rule)
			err := s.Save("q", newWorld(0, 4), nil).Wait(bg)
			if !errors.Is(err, c.is) {
				t.Fatalf("pending: %v, want %v", err, c.is)
			}
			// The callback ran before the Pending resolved.
			mu.Lock()
			got := append([]error(nil), failures...)
			mu.Unlock()
			if len(got) != 1 || !errors.Is(got[0], c.is) {
				t.Fatalf("callback got %v", got)
			}
			// The previous save still loads.
			ff.ClearRules()
			if w, _, err := s.Load(context.Background(), "q"); err != nil || w.Tick != 3 && w.Tick != 4 {
				t.Fatalf("after the failure: %+v %v", w, err)
			}
			// The writer kept running.
			if err := s.Save("q", newWorld(0, 5), nil).Wait(bg); err != nil {
				t.Fatalf("next save: %v", err)
			}
			if w, _, err := s.Load(context.Background(), "q"); err != nil || w.Tick != 5 {
				t.Fatalf("after recovery: %+v %v", w, err)
			}
		})
	}
}

// TestCoalescingHoldsMemory: 200 rapid saves of a 16 MiB world while every
// flush takes 20 ms. Without coalescing the copies would pile up (200 of
// them); with it, at most one in flight and one waiting are held.
func TestCoalescingHoldsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB saves")
	}
	if raceDetector {
		t.Skip("a memory measurement, slow under the race detector: .ci/run runs it without -race")
	}
	type big struct {
		Tick  int
		Cells []int64
	}
	var ms runtime.MemStats
	w := &big{Cells: make([]int64, 2<<20)} // 16 MiB
	for i := range w.Cells {
		w.Cells[i] = int64(i)
	}
	const worldSize = 16 << 20
	runtime.GC()
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapAlloc // the live world and what was there before

	s, err := Open[big](t.TempDir(), &Options{FS: slowFS(vfs.OS{}, 20*time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(bg)
	var peak uint64
	var last *Pending
	for i := 1; i <= 200; i++ {
		w.Tick = i
		last = s.Save("big", w, nil)
		if i%10 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc-baseline)
		}
	}
	if err := last.Wait(bg); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Load(context.Background(), "big")
	if err != nil || got.Tick != 200 || got.Cells[12345] != 12345 {
		t.Fatalf("loaded tick %d: %v", got.Tick, err)
	}
	t.Logf("heap beyond the live world, sampled after GC: peak %.1f MiB (%.2fx the world)", float64(peak)/(1<<20), float64(peak)/worldSize)
	if peak >= 3*worldSize {
		t.Fatalf("saves held %.2fx the world's size", float64(peak)/worldSize)
	}
}

func TestSchemasAndMigrations(t *testing.T) {
	dir := t.TempDir()
	s1 := open(t, dir, &Options{Schema: 1})
	s1.Save("q", newWorld(1, 3), nil).Wait(bg)
	s1.Close(bg)

	// A newer game migrates.
	type tWorld2 struct {
		Owner, Tick int
		Level       string
	}
	s3, err := Open[tWorld2](dir, &Options{Schema: 3, Migrations: map[uint32]Migration{
		1: func(old any) (any, error) { m := old.(map[string]any); m["Level"] = "one"; return m, nil },
		2: func(old any) (any, error) {
			m := old.(map[string]any)
			m["Level"] = m["Level"].(string) + "+two"
			return m, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	w3, info, err := s3.Load(context.Background(), "q")
	if err != nil || w3.Level != "one+two" || w3.Tick != 3 || !info.Migrated || info.Schema != 1 {
		t.Fatalf("migrated: %+v %+v %v", w3, info, err)
	}
	s3.Save("q", w3, nil).Wait(bg) // now a schema 3 save
	s3.Close(bg)

	// A missing step is an error.
	s2, _ := Open[tWorld2](dir, &Options{Schema: 4, Migrations: map[uint32]Migration{}})
	if _, _, err := s2.Load(context.Background(), "q"); !errors.Is(err, ErrMigration) {
		t.Fatalf("missing migration: %v", err)
	}
	s2.Close(bg)

	// An old game that saves before it ever loads reads the save's header
	// and refuses too.
	fresh := open(t, dir, &Options{Schema: 1})
	if err := fresh.Save("q", newWorld(1, 9), nil).Wait(bg); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("old game saving over a newer save it never loaded: %v", err)
	}
	fresh.Close(bg)

	// The old game refuses the newer save, and will not overwrite it...
	old := open(t, dir, &Options{Schema: 1})
	defer old.Close(bg)
	if _, _, err := old.Load(bg, "q"); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("old game loading a newer save: %v", err)
	}
	if err := old.Save("q", newWorld(1, 9), nil).Wait(bg); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("old game overwriting a newer save: %v", err)
	}
	// ...unless forced.
	if err := old.Save("q", newWorld(1, 9), &SaveOptions{Force: true}).Wait(bg); err != nil {
		t.Fatal(err)
	}
	if w, _, err := old.Load(bg, "q"); err != nil || w.Tick != 9 {
		t.Fatalf("after a forced save: %+v %v", w, err)
	}
}

type marshalsPointers struct{ P []int }

func (m *marshalsPointers) MarshalBinary() ([]byte, error) { return []byte{byte(len(m.P))}, nil }

func (m *marshalsPointers) UnmarshalBinary(b []byte) error {
	m.P = make([]int, b[0])
	return nil
}

func TestUncopyableWorldFailsAtOpenOrEncodesOnCaller(t *testing.T) {
	type world struct{ M marshalsPointers }
	if _, err := Open[world](t.TempDir(), nil); err == nil || !containsAll(err.Error(), "world.M", "EncodeOnCaller") {
		t.Fatalf("Open: %v", err)
	}
	s, err := Open[world](t.TempDir(), &Options{EncodeOnCaller: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(bg)
	w := &world{M: marshalsPointers{P: []int{1, 2, 3}}}
	p := s.Save("q", w, nil)
	w.M.P = []int{1} // the game goes on: the save holds the world as Save saw it
	if err := p.Wait(bg); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Load(context.Background(), "q")
	if err != nil || len(got.M.P) != 3 {
		t.Fatalf("%+v %v", got, err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestCloseDrainsAndReleases(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &Options{FS: slowFS(vfs.OS{}, 10*time.Millisecond)})
	var ps []*Pending
	for i := range 3 {
		ps = append(ps, s.Save(fmt.Sprint("s", i), newWorld(i, i), nil))
	}
	if err := s.Close(bg); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		select {
		case <-p.Done():
		default:
			t.Fatalf("save %d unresolved after Close", i)
		}
		if p.Err() != nil {
			t.Fatalf("save %d: %v", i, p.Err())
		}
	}
	if err := s.Close(bg); !errors.Is(err, ErrClosed) {
		t.Fatalf("second close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "s2.ptr")); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultDir(t *testing.T) {
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "c:", "x\x00"} {
		if _, err := DefaultDir(bad); err == nil {
			t.Errorf("DefaultDir(%q) accepted", bad)
		}
	}
	d, err := DefaultDir("mygame")
	wasm := runtime.GOOS == "js" || runtime.GOOS == "wasip1"
	if err != nil || filepath.IsAbs(d) == wasm || !strings.Contains(d, "mygame") {
		t.Fatalf("%q %v (absolute, except under WebAssembly: relative to what the runtime opens)", d, err)
	}
	if runtime.GOOS == "linux" {
		t.Setenv("XDG_DATA_HOME", "/data")
		if d, _ := DefaultDir("mygame"); d != "/data/mygame/saves" {
			t.Fatalf("with XDG_DATA_HOME: %q", d)
		}
	}
}
