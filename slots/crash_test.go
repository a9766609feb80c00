package slots

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/savekit/savekit/slots/vfs"
)

const crashDir = "/saves"

// crashBody is the save of generation gen: its size varies so that
// in-place rewrites both grow and shrink the slot files.
var crashBodies sync.Map // generation -> testBody

func crashBody(gen uint64) testBody {
	if b, ok := crashBodies.Load(gen); ok {
		return b.(testBody)
	}
	b := makeCrashBody(gen)
	crashBodies.Store(gen, b)
	return b
}

func makeCrashBody(gen uint64) testBody {
	r := rand.New(rand.NewPCG(gen, 99))
	n := 300 + r.IntN(6000)
	if gen >= 100 {
		n = 100<<10 + r.IntN(100<<10) // large saves: several 64 KiB writes
	}
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return testBody{Gen: gen, Data: data}
}

// recorder runs operations on a store over a CrashFS and remembers after
// which operation each commit or delete was acknowledged.
type recorder struct {
	t     testing.TB
	fs    *vfs.CrashFS
	opts  *Options
	store *Store
	acks  []ack
}

type ack struct {
	start   int    // boundary before the operation's first file operation
	ops     int    // boundary at which it was acknowledged
	gen     uint64 // generation committed; 0 for a delete
	deleted bool
}

func (r *recorder) open() {
	s, err := Open(crashDir, r.opts)
	if err != nil {
		r.t.Fatal(err)
	}
	r.store = s
}

func (r *recorder) commit(gen uint64) {
	start := r.fs.Ops()
	st, err := r.store.Commit("slot", Params{Schema: 1, Created: time.Unix(int64(gen), 0)}, crashBody(gen))
	if err != nil {
		r.t.Fatal(err)
	}
	if st.Generation != gen {
		r.t.Fatalf("commit got generation %d, want %d", st.Generation, gen)
	}
	r.acks = append(r.acks, ack{start: start, ops: r.fs.Ops(), gen: gen})
}

func (r *recorder) delete() {
	start := r.fs.Ops()
	if err := r.store.Delete("slot"); err != nil {
		r.t.Fatal(err)
	}
	r.acks = append(r.acks, ack{start: start, ops: r.fs.Ops(), deleted: true})
}

// expectAt returns what a load after a power cut at boundary i must find:
// the last acknowledged operation, and the one under way at i, if any.
func (r *recorder) expectAt(i int) (last ack, inFlight *ack) {
	for k, a := range r.acks {
		if a.ops <= i {
			last = a
		} else if a.start < i {
			inFlight = &r.acks[k]
		}
	}
	return last, inFlight
}

// checkState opens a store on a crashed file system and loads: it must
// find the last acknowledged generation or a newer one with its exact
// contents (or nothing, where a delete allows it), and a commit on top
// must then succeed and load.
func checkState(fsys *vfs.CrashFS, opts Options, last ack, inFlight *ack, nextGen uint64, repair bool) error {
	opts.FS = fsys
	s, err := Open(crashDir, &opts)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer s.Close()
	deleting := inFlight != nil && inFlight.deleted
	committing := inFlight != nil && !inFlight.deleted
	f, info, err := s.Load("slot")
	switch {
	case errors.Is(err, ErrNotFound):
		if last.gen != 0 && !deleting {
			return fmt.Errorf("load: not found, but generation %d was acknowledged", last.gen)
		}
	case err != nil:
		return fmt.Errorf("load: %w", err)
	default:
		var b testBody
		if err := f.Decode(&b); err != nil {
			return fmt.Errorf("decode: %w", err)
		}
		switch {
		case last.deleted && !committing:
			return fmt.Errorf("load: generation %d after an acknowledged delete", b.Gen)
		case b.Gen < last.gen:
			return fmt.Errorf("load: generation %d, but %d was acknowledged (recovered=%v: %s)", b.Gen, last.gen, info.Recovered, info.Reason)
		case b.Gen > last.gen && !committing:
			return fmt.Errorf("load: generation %d, nothing newer than %d was under way", b.Gen, last.gen)
		case deleting && b.Gen != last.gen:
			return fmt.Errorf("load: generation %d during the delete of %d", b.Gen, last.gen)
		}
		want := crashBody(b.Gen)
		if info.Generation != b.Gen || !bytes.Equal(b.Data, want.Data) {
			return fmt.Errorf("load: generation %d has wrong contents", b.Gen)
		}
	}
	if !repair {
		return nil
	}
	// Saving on top of whatever the crash left must work and load.
	if _, err := s.Commit("slot", Params{}, crashBody(nextGen)); err != nil {
		return fmt.Errorf("commit after crash: %w", err)
	}
	f, info, err = s.Load("slot")
	if err != nil {
		return fmt.Errorf("load after repair: %w", err)
	}
	var b testBody
	if err := f.Decode(&b); err != nil {
		return fmt.Errorf("load after repair: %w", err)
	}
	// It is the new commit that loads, not a fallback to an older save.
	if b.Gen != nextGen || info.Recovered {
		return fmt.Errorf("load after repair: body of generation %d (recovered %v), want the new commit's %d", b.Gen, info.Recovered, nextGen)
	}
	if want := crashBody(b.Gen); !bytes.Equal(b.Data, want.Data) {
		return fmt.Errorf("load after repair: generation %d has wrong contents", b.Gen)
	}
	return nil
}

type scenario struct {
	name  string
	limit int // states per boundary, when less than explore's
	// setup brings a CrashFS to the scenario's starting state, all
	// durable. It returns the generations already acknowledged.
	setup func(t testing.TB, opts *Options) (*vfs.CrashFS, uint64)
	// run performs the operations explored.
	run func(r *recorder, lastGen uint64)
}

// commits returns a setup that makes n commits.
func commits(n uint64) func(t testing.TB, opts *Options) (*vfs.CrashFS, uint64) {
	return func(t testing.TB, opts *Options) (*vfs.CrashFS, uint64) {
		fsys := vfs.NewCrashFS()
		if n == 0 {
			// Truly empty: creating the store's directory is explored too.
			return fsys, 0
		}
		o := *opts
		o.FS = fsys
		r := &recorder{t: t, fs: fsys, opts: &o}
		r.open()
		for g := uint64(1); g <= n; g++ {
			r.commit(g)
		}
		r.store.Close()
		return fsys.Crash(0), n // a power cut with nothing volatile
	}
}

func scenarios() []scenario {
	return []scenario{
		{name: "first save", setup: commits(0), run: func(r *recorder, g uint64) { r.open(); r.commit(g + 1) }},
		{name: "second save", setup: commits(1), run: func(r *recorder, g uint64) { r.open(); r.commit(g + 1) }},
		{name: "steady state", setup: commits(3), run: func(r *recorder, g uint64) { r.open(); r.commit(g + 1); r.commit(g + 2); r.commit(g + 3) }},
		{name: "after a torn inactive slot", setup: func(t testing.TB, opts *Options) (*vfs.CrashFS, uint64) {
			fsys, n := commits(3)(t, opts)
			// Generation 3 is in slot 0; tear slot 1 as a power cut
			// during the fourth commit would.
			f, err := fsys.OpenFile(filepath.Join(crashDir, "slot.1.sav"), os.O_RDWR)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteAt(bytes.Repeat([]byte{0xa5}, 700), 200)
			f.Truncate(600)
			f.Datasync()
			f.Close()
			return fsys.Crash(0), n
		}, run: func(r *recorder, g uint64) { r.open(); r.commit(g + 1) }},
		{name: "after the pointer was lost", setup: func(t testing.TB, opts *Options) (*vfs.CrashFS, uint64) {
			fsys, n := commits(3)(t, opts)
			fsys.Remove(filepath.Join(crashDir, "slot.ptr"))
			fsys.SyncDir(crashDir)
			return fsys.Crash(0), n
		}, run: func(r *recorder, g uint64) { r.open(); r.commit(g + 1) }},
		{name: "delete", setup: commits(3), run: func(r *recorder, g uint64) { r.open(); r.delete() }},
		{name: "steady state, large saves", limit: 1024, setup: func(t testing.TB, opts *Options) (*vfs.CrashFS, uint64) {
			fsys, _ := commits(0)(t, opts)
			o := *opts
			o.FS = fsys
			r := &recorder{t: t, fs: fsys, opts: &o}
			r.open()
			r.store.lastGenForTest("slot", 99)
			r.commit(100)
			r.commit(101)
			r.store.Close()
			return fsys.Crash(0), 101
		}, run: func(r *recorder, g uint64) { r.open(); r.commit(g + 1) }},
	}
}

type exploreResult struct {
	states, violations int
	first              string
}

// explore runs every scenario under opts and checks every crash state at
// every operation boundary of the explored part.
func explore(t testing.TB, opts Options, limit int) exploreResult {
	var res exploreResult
	for _, sc := range scenarios() {
		t0, s0 := time.Now(), res.states
		// The starting state is made by the sound protocol; only the
		// explored operations use opts.
		fsys, lastGen := sc.setup(t, &Options{Limits: opts.Limits})
		o := opts
		o.FS = fsys
		r := &recorder{t: t, fs: fsys, opts: &o}
		if lastGen > 0 {
			r.acks = append(r.acks, ack{gen: lastGen})
		}
		start := fsys.Ops()
		sc.run(r, lastGen)
		r.store.Close()
		end := fsys.Ops()
		for i := start; i <= end; i++ {
			last, inFlight := r.expectAt(i)
			k := 0
			lim := limit
			if sc.limit > 0 && sc.limit < lim {
				lim = sc.limit
			}
			for state, how := range fsys.CrashStates(i, vfs.CrashOptions{Limit: lim, Seed: uint64(i)}) {
				res.states++
				// Repair-commit on a sample of states, to keep it quick.
				repair := k%7 == 0
				k++
				if err := checkState(state, opts, last, inFlight, lastGen+10, repair); err != nil {
					res.violations++
					if res.first == "" {
						res.first = fmt.Sprintf("%s, crash after op %d/%d (%s): %v", sc.name, i-start, end-start, how, err)
					}
				}
			}
		}
		if testing.Verbose() {
			t.Logf("  %s: %d states, %v", sc.name, res.states-s0, time.Since(t0).Round(time.Millisecond))
		}
	}
	return res
}

// TestCrashExploration is the protocol's proof: every power cut the
// crash model allows, at every operation boundary of seven scenarios, loads
// the last acknowledged save or a newer one, intact.
func TestCrashExploration(t *testing.T) {
	start := time.Now()
	res := explore(t, Options{}, 4096)
	t.Logf("crash-explore: states=%d violations=%d (%v)", res.states, res.violations, time.Since(start).Round(time.Millisecond))
	if res.violations > 0 {
		t.Fatalf("first violation: %s", res.first)
	}
	if res.states < 10000 {
		t.Fatalf("explored only %d states, want at least 10000", res.states)
	}
}

// TestCrashExplorationCanFail runs the same exploration against weakened
// protocols: each must be caught.
func TestCrashExplorationCanFail(t *testing.T) {
	for _, w := range []struct {
		name  string
		proto protocol
	}{
		{"no file fsync", protocol{noFileSync: true}},
		{"no directory fsync", protocol{noDirSync: true}},
		{"committed slot written in place", protocol{activeInPlace: true}},
	} {
		t.Run(w.name, func(t *testing.T) {
			res := explore(t, Options{protocol: w.proto}, 512)
			t.Logf("crash-explore (%s): states=%d violations=%d; first: %s", w.name, res.states, res.violations, res.first)
			if res.violations == 0 {
				t.Fatalf("the explorer found no violation in a broken protocol")
			}
		})
	}
}

// TestCrashExplorationAlternatives: the textbook protocols the benchmarks
// compare against are sound too; the choice between them is by speed.
func TestCrashExplorationAlternatives(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	for _, alt := range []struct {
		name  string
		proto protocol
	}{
		{"ordered flushes", protocol{ordered: true}},
		{"slot by rename", protocol{renameSlot: true}},
		{"pointer by rename", protocol{renamePointer: true}},
		{"both by rename", protocol{renameSlot: true, renamePointer: true}},
	} {
		t.Run(alt.name, func(t *testing.T) {
			res := explore(t, Options{protocol: alt.proto}, 256)
			t.Logf("crash-explore (%s): states=%d violations=%d", alt.name, res.states, res.violations)
			if res.violations > 0 {
				t.Fatalf("first violation: %s", res.first)
			}
		})
	}
}
