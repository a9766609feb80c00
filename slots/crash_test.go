package slots

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/savekit/savekit/format"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/savekit/savekit/slots/vfs"
)

const crashDir = "/saves"

// exploreEnv selects the explorer's state budget: unset, the bounded
// default that go test runs; "full", every state of every boundary up to
// the crash model's own per-boundary limit.
const exploreEnv = "SAVEKIT_EXPLORE"

// budget is how many crash states the explorer checks at one operation
// boundary, and on how many of them it commits again on top.
type budget struct {
	mode      string
	perOp     int // states per boundary (CrashOptions.Limit)
	perOpBig  int // for the large-save scenario, whose writes tear many ways
	repairOne int // commit on top of one state in repairOne
}

func exploreBudget(t testing.TB) budget {
	switch m := os.Getenv(exploreEnv); m {
	case "full":
		return budget{mode: "full", perOp: 4096, perOpBig: 1024, repairOne: 7}
	case "", "default":
		// Every scenario and every boundary, but at most 48 states each,
		// drawn deterministically (all lost and all kept first).
		return budget{mode: "default", perOp: 48, perOpBig: 12, repairOne: 5}
	default:
		t.Fatalf("%s=%q: want full, default or unset", exploreEnv, m)
		return budget{}
	}
}

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
// which operation each commit or delete was acknowledged. What goes wrong
// while it runs (a commit that fails, a generation other than the one
// due) is noted, not fatal: under a broken protocol it is part of what the
// explorer reports.
type recorder struct {
	fs       *vfs.CrashFS
	dir      string
	opts     *Options
	store    *Store
	acks     []ack
	problems []string
}

type ack struct {
	name    string // the slot name
	start   int    // boundary before the operation's first file operation
	ops     int    // boundary at which it was acknowledged
	gen     uint64 // generation committed; 0 for a delete
	deleted bool
}

func (r *recorder) failed() bool { return len(r.problems) > 0 }

func (r *recorder) problem(format string, args ...any) {
	r.problems = append(r.problems, fmt.Sprintf("after op %d: ", r.fs.Ops())+fmt.Sprintf(format, args...))
}

func (r *recorder) open() {
	if r.failed() {
		return
	}
	r.close()
	s, err := Open(r.dir, r.opts)
	if err != nil {
		r.problem("open: %v", err)
		return
	}
	r.store = s
}

func (r *recorder) close() {
	if r.store != nil {
		r.store.Close()
		r.store = nil
	}
}

// commit commits the body of generation gen to the slot "slot"; gen must
// be the generation the store gives it.
func (r *recorder) commit(gen uint64) { r.commitTo("slot", gen) }

// commitTo commits to another slot name: a game with several save slots,
// whose promise for one holds while another saves.
func (r *recorder) commitTo(name string, gen uint64) {
	if r.failed() {
		return
	}
	start := r.fs.Ops()
	st, err := r.store.Commit(name, enc(format.Params{Schema: 1, Created: time.Unix(int64(gen), 0)}, crashBody(gen)))
	if err != nil {
		r.problem("commit of %s generation %d: %v", name, gen, err)
		return
	}
	if st.Generation != gen {
		r.problem("commit of the body of %s generation %d was given generation %d", name, gen, st.Generation)
		return
	}
	r.acks = append(r.acks, ack{name: name, start: start, ops: r.fs.Ops(), gen: gen})
}

// load loads in the running program (not after a crash), as a game does
// at start-up before saving again.
func (r *recorder) load() {
	if r.failed() {
		return
	}
	if _, _, err := r.store.Load("slot"); err != nil {
		r.problem("load: %v", err)
	}
}

func (r *recorder) delete() {
	if r.failed() {
		return
	}
	start := r.fs.Ops()
	if err := r.store.Delete("slot"); err != nil {
		r.problem("delete: %v", err)
		return
	}
	r.acks = append(r.acks, ack{name: "slot", start: start, ops: r.fs.Ops(), deleted: true})
}

// expectation is what a load of one slot name after a power cut at one
// boundary must find.
type expectation struct {
	name     string
	last     ack  // the last acknowledged operation (gen 0: none)
	inFlight *ack // the operation under way at the cut, if any
	// exact: nothing is under way and the last acknowledged state is
	// clean, so Load must return exactly it, through the pointer, not as
	// a fallback.
	exact bool
}

// names returns the slot names the recorder committed or deleted.
func (r *recorder) names() []string {
	var out []string
	for _, a := range r.acks {
		if !slices.Contains(out, a.name) {
			out = append(out, a.name)
		}
	}
	return out
}

// expectAt is what slot name must load after a cut at boundary i.
// degraded: the scenario's starting state loads as a fallback.
func (r *recorder) expectAt(i int, name string, degraded bool) expectation {
	e := expectation{name: name}
	ackedInRun := false
	for k, a := range r.acks {
		if a.name != name {
			continue
		}
		if a.ops <= i {
			e.last = a
			ackedInRun = ackedInRun || a.ops > 0
		} else if a.start < i {
			e.inFlight = &r.acks[k]
		}
	}
	e.exact = e.inFlight == nil && (ackedInRun || !degraded)
	return e
}

func (e expectation) String() string {
	s := e.name + ": "
	switch {
	case e.last.deleted:
		s += "nothing (a delete was acknowledged)"
	case e.last.gen == 0:
		s += "nothing or a save under way"
	case e.exact:
		s += fmt.Sprintf("generation %d, not recovered", e.last.gen)
	default:
		s += fmt.Sprintf("generation %d or newer", e.last.gen)
	}
	switch {
	case e.inFlight == nil:
		s += "; nothing under way"
	case e.inFlight.deleted:
		s += "; a delete under way"
	default:
		s += fmt.Sprintf("; generation %d under way", e.inFlight.gen)
	}
	return s
}

// checkState opens a store on a crashed file system and loads each slot
// name: it must find what its expectation allows, with the exact contents
// committed, and (if repair) a commit on top of "slot" must then succeed
// and load as itself.
func checkState(fsys *vfs.CrashFS, opts Options, dir string, exps []expectation, nextGen uint64, repair bool) error {
	opts.FS = fsys
	s, err := Open(dir, &opts)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer s.Close()
	for _, e := range exps {
		if err := checkLoad(s, e); err != nil {
			return err
		}
	}
	if !repair {
		return nil
	}
	// Saving on top of whatever the crash left must work and load.
	if _, err := s.Commit("slot", enc(format.Params{}, crashBody(nextGen))); err != nil {
		return fmt.Errorf("commit after the crash: %w", err)
	}
	f, info, err := s.Load("slot")
	if err != nil {
		return fmt.Errorf("load after a commit on top of the crash: %w", err)
	}
	var b testBody
	if err := f.Decode(&b); err != nil {
		return fmt.Errorf("load after a commit on top of the crash: %w", err)
	}
	// It is the new commit that loads, not a fallback to an older save.
	if b.Gen != nextGen || info.Recovered {
		return fmt.Errorf("load after a commit on top of the crash: body of generation %d (recovered %v: %s), want the new commit's %d", b.Gen, info.Recovered, info.Reason, nextGen)
	}
	if want := crashBody(b.Gen); !bytes.Equal(b.Data, want.Data) {
		return fmt.Errorf("load after a commit on top of the crash: generation %d has the wrong contents", b.Gen)
	}
	return nil
}

// checkLoad loads e.name and compares it with e.
func checkLoad(s *Store, e expectation) error {
	deleting := e.inFlight != nil && e.inFlight.deleted
	committing := e.inFlight != nil && !e.inFlight.deleted
	f, info, err := s.Load(e.name)
	switch {
	case errors.Is(err, ErrNotFound):
		if e.last.gen != 0 && !e.last.deleted && !deleting {
			return fmt.Errorf("loaded: not found; want %v", e)
		}
	case err != nil:
		return fmt.Errorf("loaded: %w; want %v", err, e)
	default:
		var b testBody
		if err := f.Decode(&b); err != nil {
			return fmt.Errorf("loaded generation %d, its body does not decode: %w; want %v", info.Generation, err, e)
		}
		got := fmt.Sprintf("generation %d from %s", b.Gen, slotFile(e.name, info.Slot))
		if info.Recovered {
			got += fmt.Sprintf(" (recovered: %s)", info.Reason)
		}
		switch {
		case e.last.deleted && !committing:
			return fmt.Errorf("loaded %s; want %v", got, e)
		case b.Gen < e.last.gen:
			return fmt.Errorf("loaded %s, older than the acknowledged; want %v", got, e)
		case b.Gen > e.last.gen && !committing:
			return fmt.Errorf("loaded %s, newer than anything under way; want %v", got, e)
		case deleting && b.Gen != e.last.gen:
			return fmt.Errorf("loaded %s during a delete; want %v", got, e)
		case e.exact && info.Recovered:
			return fmt.Errorf("loaded %s as a fallback, though the save was acknowledged and nothing was under way; want %v", got, e)
		}
		want := crashBody(b.Gen)
		if info.Generation != b.Gen || !bytes.Equal(b.Data, want.Data) {
			return fmt.Errorf("loaded %s (header generation %d) with the wrong contents; want %v", got, info.Generation, e)
		}
	}
	return nil
}

type scenario struct {
	name string
	dir  string // the store's directory; crashDir if empty
	big  bool   // large saves: sampled with budget.perOpBig
	// setup brings a CrashFS to the scenario's starting state, made
	// durable by settle. It returns the last generation acknowledged.
	setup func(opts *Options, dir string) (*vfs.CrashFS, uint64, error)
	// degraded: the starting state itself loads as a fallback, so until
	// a commit is acknowledged Load may say Recovered.
	degraded bool
	// run performs the operations explored.
	run func(r *recorder, lastGen uint64)
}

// settle makes everything the running program sees durable, through the
// file system's own syncs (every directory, every file), and returns the
// state a power cut then leaves: exactly that. The starting state of a
// scenario never depends on the protocol under test having flushed.
func settle(fsys *vfs.CrashFS) (*vfs.CrashFS, error) {
	var walk func(dir string) error
	walk = func(dir string) error {
		names, err := fsys.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, n := range names {
			p := filepath.Join(dir, n)
			fi, err := fsys.Lstat(p)
			if err != nil {
				return err
			}
			if fi.IsDir() {
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			f, err := fsys.OpenFile(p, os.O_RDONLY)
			if err != nil {
				return err
			}
			err = f.Datasync()
			f.Close()
			if err != nil {
				return err
			}
		}
		return fsys.SyncDir(dir)
	}
	if err := walk(string(filepath.Separator)); err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	return fsys.Crash(0), nil
}

// commits returns a setup that makes generations 1..n.
func commits(n uint64) func(opts *Options, dir string) (*vfs.CrashFS, uint64, error) {
	return func(opts *Options, dir string) (*vfs.CrashFS, uint64, error) {
		fsys := vfs.NewCrashFS()
		if n == 0 {
			// Truly empty: creating the store's directory is explored too.
			return fsys, 0, nil
		}
		o := *opts
		o.FS = fsys
		r := &recorder{fs: fsys, dir: dir, opts: &o}
		r.open()
		for g := uint64(1); g <= n; g++ {
			r.commit(g)
		}
		r.close()
		if r.failed() {
			return nil, 0, errors.New(strings.Join(r.problems, "; "))
		}
		s, err := settle(fsys)
		return s, n, err
	}
}

// edit applies change to a settled state and settles again.
func edit(setup func(*Options, string) (*vfs.CrashFS, uint64, error), lastGen uint64,
	change func(fsys *vfs.CrashFS, dir string) error) func(*Options, string) (*vfs.CrashFS, uint64, error) {
	return func(opts *Options, dir string) (*vfs.CrashFS, uint64, error) {
		fsys, _, err := setup(opts, dir)
		if err != nil {
			return nil, 0, err
		}
		if err := change(fsys, dir); err != nil {
			return nil, 0, fmt.Errorf("edit the starting state: %w", err)
		}
		s, err := settle(fsys)
		return s, lastGen, err
	}
}

// writeFile overwrites part of a file of a CrashFS.
func writeFile(fsys *vfs.CrashFS, path string, off int64, b []byte, truncate int64) error {
	f, err := fsys.OpenFile(path, os.O_RDWR)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		return err
	}
	if truncate >= 0 {
		return f.Truncate(truncate)
	}
	return nil
}

func scenarios() []scenario {
	commitsFrom := func(gens ...uint64) func(*recorder, uint64) {
		return func(r *recorder, _ uint64) {
			r.open()
			for _, g := range gens {
				r.commit(g)
			}
		}
	}
	return []scenario{
		// A game's first launch: the directory is new, then the first
		// save (both files created), the second (slot 1 created), and
		// saves alternating between the slots.
		{name: "first launch, five saves", setup: commits(0), run: commitsFrom(1, 2, 3, 4, 5)},
		// The same where the directory's parents are new too.
		{name: "first launch in new parent directories", dir: "/home/player/game/saves", setup: commits(0), run: commitsFrom(1, 2, 3)},
		// The game quits and starts between saves: every commit starts
		// from what a new store reads of the files.
		{name: "first launch, reopened between saves", setup: commits(0), run: func(r *recorder, _ uint64) {
			for g := uint64(1); g <= 3; g++ {
				r.open()
				r.commit(g)
			}
		}},
		// Two save slots: each one's promise holds while the other saves,
		// from the first launch on.
		{name: "first launch, two slots", setup: commits(0), run: func(r *recorder, _ uint64) {
			r.open()
			r.commit(1)
			r.commitTo("other", 1)
			r.commitTo("other", 2)
			r.commit(2)
			r.commitTo("other", 3)
			r.commitTo("other", 4)
			r.commit(3)
			r.commitTo("other", 5)
		}},
		{name: "second save", setup: commits(1), run: commitsFrom(2, 3)},
		{name: "steady state, alternating", setup: commits(3), run: commitsFrom(4, 5, 6, 7)},
		{name: "after a torn inactive slot", setup: edit(commits(3), 3, func(fsys *vfs.CrashFS, dir string) error {
			// Generation 3 is in slot 0; tear slot 1 as a power cut
			// during the fourth commit would.
			return writeFile(fsys, filepath.Join(dir, "slot.1.sav"), 200, bytes.Repeat([]byte{0xa5}, 700), 600)
		}), run: commitsFrom(4, 5)},
		{name: "after the pointer was lost", degraded: true, setup: edit(commits(3), 3, func(fsys *vfs.CrashFS, dir string) error {
			return fsys.Remove(filepath.Join(dir, "slot.ptr"))
		}), run: commitsFrom(4, 5)},
		// A cut during the fourth commit kept its slot file but not the
		// pointer: the pointer names generation 2, slot 0 holds 3. The
		// next commit overwrites 3 and must be generation 4.
		{name: "after a lost pointer update", setup: edit(commits(2), 2, func(fsys *vfs.CrashFS, dir string) error {
			o := &Options{FS: fsys}
			s, err := Open(dir, o)
			if err != nil {
				return err
			}
			defer s.Close()
			rec, err := fsys.OpenFile(filepath.Join(dir, "slot.ptr"), os.O_RDONLY)
			if err != nil {
				return err
			}
			old := make([]byte, pointerSize)
			_, err = rec.ReadAt(old, 0)
			rec.Close()
			if err != nil {
				return err
			}
			if _, err := s.Commit("slot", enc(format.Params{Schema: 1, Created: time.Unix(3, 0)}, crashBody(3))); err != nil {
				return err
			}
			return writeFile(fsys, filepath.Join(dir, "slot.ptr"), 0, old, -1)
		}), run: commitsFrom(4, 5)},
		// A cut during the fourth commit kept the new pointer but tore
		// the slot file it names: Load recovers generation 3 and says so;
		// the game loads, then saves again.
		{name: "after a recovered load", degraded: true, setup: edit(commits(3), 3, func(fsys *vfs.CrashFS, dir string) error {
			rec := pointer{Slot: 1, Generation: 4, Size: 4096, HeaderSum: 0x5eed}.marshal()
			if err := writeFile(fsys, filepath.Join(dir, "slot.ptr"), 0, rec, -1); err != nil {
				return err
			}
			return writeFile(fsys, filepath.Join(dir, "slot.1.sav"), 0, bytes.Repeat([]byte{0x3c}, 512), -1)
		}), run: func(r *recorder, _ uint64) { r.open(); r.load(); r.commit(5); r.commit(6) }},
		{name: "delete", setup: commits(3), run: func(r *recorder, _ uint64) { r.open(); r.delete() }},
		// After a delete, generations start again from 1.
		{name: "delete, then save again", setup: commits(2), run: func(r *recorder, _ uint64) { r.open(); r.delete(); r.commit(1); r.commit(2) }},
		{name: "steady state, large saves", big: true, setup: func(opts *Options, dir string) (*vfs.CrashFS, uint64, error) {
			fsys := vfs.NewCrashFS()
			o := *opts
			o.FS = fsys
			r := &recorder{fs: fsys, dir: dir, opts: &o}
			r.open()
			if r.store != nil {
				r.store.lastGenForTest("slot", 99)
			}
			r.commit(100)
			r.commit(101)
			r.close()
			if r.failed() {
				return nil, 0, errors.New(strings.Join(r.problems, "; "))
			}
			s, err := settle(fsys)
			return s, 101, err
		}, run: commitsFrom(102, 103)},
	}
}

// violation is one crash state that broke the promise, with what shows it.
type violation struct {
	scenario string
	op, ops  int    // the cut came after op of the explored ops
	lastOp   string // the operation just before the cut
	state    string // how the cut treated each volatile operation
	err      error  // what loaded, against what was expected
}

func (v violation) String() string {
	if v.ops < 0 {
		return fmt.Sprintf("%s: %v", v.scenario, v.err)
	}
	return fmt.Sprintf("%s: power cut after op %d of %d (%s)\n      state: %s\n      %v", v.scenario, v.op, v.ops, v.lastOp, v.state, v.err)
}

type scenarioResult struct {
	name               string
	states, violations int
	took               time.Duration
}

type exploreResult struct {
	states, violations int
	scenarios          []scenarioResult
	shown              []violation // the first of each scenario, up to violationsShown
}

const violationsShown = 6

func (res *exploreResult) add(v violation) {
	res.violations++
	if len(res.shown) < violationsShown && !slices.ContainsFunc(res.shown, func(s violation) bool { return s.scenario == v.scenario }) {
		res.shown = append(res.shown, v)
	}
}

func (res *exploreResult) report() string {
	var b strings.Builder
	for _, sc := range res.scenarios {
		fmt.Fprintf(&b, "  %-40s states=%-6d violations=%d (%v)\n", sc.name, sc.states, sc.violations, sc.took.Round(time.Millisecond))
	}
	for i, v := range res.shown {
		fmt.Fprintf(&b, "  example %d of %d violations: %v\n", i+1, res.violations, v)
	}
	return b.String()
}

// explore runs every scenario under proto and checks crash states at every
// operation boundary of the explored part: all of them, or the budget's
// deterministic sample.
func explore(t testing.TB, proto protocol, b budget) exploreResult {
	var res exploreResult
	for _, sc := range scenarios() {
		t0, states0, viol0 := time.Now(), res.states, res.violations
		dir := sc.dir
		if dir == "" {
			dir = crashDir
		}
		// The starting state is made by the sound protocol; only the
		// explored operations use proto.
		fsys, lastGen, err := sc.setup(&Options{}, dir)
		if err != nil {
			res.add(violation{scenario: sc.name, ops: -1, err: fmt.Errorf("setting up the starting state: %w", err)})
			res.scenarios = append(res.scenarios, scenarioResult{sc.name, 0, 1, time.Since(t0)})
			continue
		}
		o := proto.apply(Options{FS: fsys})
		r := &recorder{fs: fsys, dir: dir, opts: &o}
		r.acks = append(r.acks, ack{name: "slot", gen: lastGen})
		start := fsys.Ops()
		sc.run(r, lastGen)
		r.close()
		end := fsys.Ops()
		for _, p := range r.problems {
			res.add(violation{scenario: sc.name, ops: -1, err: fmt.Errorf("while running, before any crash: %s", p)})
		}
		lim := b.perOp
		if sc.big {
			lim = b.perOpBig
		}
		names := r.names()
		for i := start; i <= end; i++ {
			var exps []expectation
			for _, name := range names {
				exps = append(exps, r.expectAt(i, name, sc.degraded && name == "slot"))
			}
			k := 0
			for state, how := range fsys.CrashStates(i, vfs.CrashOptions{Limit: lim, Seed: uint64(i)}) {
				res.states++
				repair := k%b.repairOne == 0
				k++
				if err := checkState(state, Options{}, dir, exps, lastGen+10, repair); err != nil {
					v := violation{scenario: sc.name, op: i - start, ops: end - start, lastOp: "none", state: how.String(), err: err}
					if i > 0 {
						v.lastOp = fsys.Op(i - 1)
					}
					res.add(v)
				}
			}
		}
		res.scenarios = append(res.scenarios, scenarioResult{sc.name, res.states - states0, res.violations - viol0, time.Since(t0)})
	}
	return res
}

// TestCrashExploration is the protocol's proof: power cuts at every
// operation boundary of a dozen scenarios (a first launch, the first
// saves, alternation, recovery from earlier crashes, deletes, large
// saves) load the last acknowledged save or a newer one, intact, and,
// when nothing was under way, exactly the acknowledged save through its
// pointer. SAVEKIT_EXPLORE=full checks every state instead of a bounded
// deterministic sample.
func TestCrashExploration(t *testing.T) {
	b := exploreBudget(t)
	start := time.Now()
	res := explore(t, protocol{}, b)
	// The mutation check (.ci/mutate) reads this line.
	t.Logf("crash-explore: mode=%s states=%d violations=%d (%v)\n%s", b.mode, res.states, res.violations, time.Since(start).Round(time.Millisecond), res.report())
	if res.violations > 0 {
		t.Fatalf("%d of %d crash states violate the promise", res.violations, res.states)
	}
	want := 2000
	if b.mode == "full" {
		want = 40000
	}
	if res.states < want {
		t.Fatalf("explored only %d states, want at least %d", res.states, want)
	}
}

// TestCrashExplorationCanFail runs the same exploration against weakened
// protocols: each must show up in many crash states, not a lucky few.
func TestCrashExplorationCanFail(t *testing.T) {
	b := exploreBudget(t)
	for _, w := range []struct {
		name  string
		proto protocol
	}{
		{"no file fsync", protocol{noFileSync: true}},
		{"no directory fsync", protocol{noDirSync: true}},
		{"committed slot written in place", protocol{activeInPlace: true}},
	} {
		t.Run(w.name, func(t *testing.T) {
			res := explore(t, w.proto, b)
			t.Logf("crash-explore (%s): mode=%s states=%d violations=%d\n%s", w.name, b.mode, res.states, res.violations, res.report())
			if res.violations < 100 {
				t.Fatalf("the explorer found %d violating states in a broken protocol, want at least 100", res.violations)
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
	b := exploreBudget(t)
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
			res := explore(t, alt.proto, b)
			t.Logf("crash-explore (%s): mode=%s states=%d violations=%d", alt.name, b.mode, res.states, res.violations)
			if res.violations > 0 {
				t.Fatalf("%d violating states:\n%s", res.violations, res.report())
			}
		})
	}
}
