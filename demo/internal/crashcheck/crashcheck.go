// Package crashcheck is the judge shared by the demo's crash harnesses
// (demo/powerloss, demo/powercut): it keeps what a saver said it saved and
// acknowledged, and checks what loads after each crash against it.
package crashcheck

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/savekit/savekit/demo/world"
	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/slots"
	"github.com/savekit/savekit/slots/vfs"
)

// Player is the scripted input of every crash harness: a zig-zag across
// the arena.
func Player(tick uint64) world.Input {
	return world.Input{Right: tick%240 < 120, Left: tick%240 >= 120, Down: tick%100 < 50, Up: tick%100 >= 50}
}

// Checker keeps what a saver said and judges what loads after each cut.
type Checker struct {
	printed   map[uint64]uint64 // generation -> digest of the world saved as it
	LastAcked uint64            // newest acknowledged generation
	ackedDig  uint64

	// Cuts counts judged crashes; the others count their verdicts.
	Cuts, LoadsOK, Corrupt, LostAcked, Recovered int
	// FirstProblem describes the first crash that failed a check.
	FirstProblem string
	// Noun names what is judged in FirstProblem ("cut" if empty).
	Noun string
}

func (c *Checker) noun() string {
	if c.Noun == "" {
		return "cut"
	}
	return c.Noun
}

// New returns an empty Checker.
func New() *Checker { return &Checker{printed: map[uint64]uint64{}} }

// Line records one line of the saver's output: "saving GEN DIGEST" before a
// save, "acked GEN DIGEST" once it is durable. Other lines are errors.
func (c *Checker) Line(s string) error {
	f := strings.Fields(s)
	if len(f) != 3 || f[0] != "saving" && f[0] != "acked" {
		return fmt.Errorf("unexpected line from the saver: %q", s)
	}
	gen, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return fmt.Errorf("bad generation in %q", s)
	}
	dig, err := strconv.ParseUint(f[2], 16, 64)
	if err != nil {
		return fmt.Errorf("bad digest in %q", s)
	}
	if f[0] == "saving" {
		// A generation a cut lost is used again by the next saver: the
		// newest line for it is the one that can be on disk.
		c.printed[gen] = dig
		return nil
	}
	if c.printed[gen] != dig {
		return fmt.Errorf("acked %d with digest %016x, saving said %016x", gen, dig, c.printed[gen])
	}
	if gen > c.LastAcked {
		c.LastAcked, c.ackedDig = gen, dig
	}
	return nil
}

// Judge checks what loaded after a cut: the load must succeed (unless
// nothing was ever acknowledged), its generation be at least the last
// acknowledged one, its digest the one printed for that generation, and
// no temporary may be left after reopening. A failed load or wrong
// contents count as corrupt; an older generation, or none at all after an
// acknowledgement, as a lost acknowledged save.
func (c *Checker) Judge(loadErr error, gen, digest uint64, recovered bool, temps []string) {
	c.Cuts++
	problem := ""
	switch {
	case errors.Is(loadErr, savegame.ErrNotFound) && c.LastAcked == 0:
		// Nothing acknowledged yet: nothing to find is right.
	case errors.Is(loadErr, savegame.ErrNotFound):
		// The store holds no save at all, though one was acknowledged.
		c.LostAcked++
		problem = fmt.Sprintf("no save found, but %d was acknowledged", c.LastAcked)
	case loadErr != nil:
		c.Corrupt++
		problem = fmt.Sprintf("load failed: %v", loadErr)
	case gen < c.LastAcked:
		c.LostAcked++
		problem = fmt.Sprintf("loaded generation %d, but %d was acknowledged", gen, c.LastAcked)
	default:
		if want, ok := c.printed[gen]; !ok {
			c.Corrupt++
			problem = fmt.Sprintf("loaded generation %d, which the saver never printed", gen)
		} else if want != digest {
			c.Corrupt++
			problem = fmt.Sprintf("generation %d loaded with digest %016x, saved with %016x", gen, digest, want)
		}
	}
	if problem == "" && len(temps) > 0 {
		c.Corrupt++
		problem = fmt.Sprintf("temporaries left after reopening: %v", temps)
	}
	if problem == "" {
		c.LoadsOK++
		if recovered {
			c.Recovered++
		}
	} else if c.FirstProblem == "" {
		c.FirstProblem = fmt.Sprintf("%s %d: %s", c.noun(), c.Cuts, problem)
	}
}

// OK reports whether no crash lost an acknowledged save or left a bad one.
func (c *Checker) OK() bool { return c.Corrupt == 0 && c.LostAcked == 0 }

// SaveLoop is the saver of the crash harnesses: it loads slot from store
// (or starts world.New(seed, entities) when there is none), then n times,
// or forever if n < 0, steps the world and saves it, calling saving with
// "saving GEN DIGEST" before each save and acked with "acked GEN DIGEST"
// once it is acknowledged. An error from either ends the loop.
func SaveLoop(store *savegame.Store[world.World], dir string, fsys vfs.FS, slot string, seed uint64, entities, n int, saving, acked func(line string) error) error {
	w, _, err := store.Load(context.Background(), slot)
	if errors.Is(err, savegame.ErrNotFound) {
		w, err = world.New(seed, entities), nil
	}
	if err != nil {
		return err
	}
	for i := 0; n < 0 || i < n; i++ {
		for range 3 {
			w.Step(Player(w.Tick))
		}
		gen, err := NextGeneration(dir, fsys, slot)
		if err != nil {
			return err
		}
		d := w.Digest()
		if err := saving(fmt.Sprintf("saving %d %016x", gen, d)); err != nil {
			return err
		}
		p := store.Save(slot, w, nil)
		if err := p.Wait(context.Background()); err != nil {
			return err
		}
		if p.Generation() != gen {
			return fmt.Errorf("saved as generation %d, expected %d", p.Generation(), gen)
		}
		if err := acked(fmt.Sprintf("acked %d %016x", gen, d)); err != nil {
			return err
		}
	}
	return nil
}

// NextGeneration is the generation the next save of slot in dir (on
// fsys; nil means the OS file system) will be committed as, read without
// the store's lock while the store is open and idle: exact while no save
// of the slot is queued or in flight, as in the harnesses, which print it
// before each save.
func NextGeneration(dir string, fsys vfs.FS, slot string) (uint64, error) {
	st, err := slots.Open(dir, &slots.Options{FS: fsys, ReadOnly: true})
	if err != nil {
		return 0, err
	}
	defer st.Close()
	return st.NextGeneration(slot)
}

// Outcome is what a check found in a store after a crash.
type Outcome struct {
	Err         error // from opening the store or loading the slot
	Gen, Digest uint64
	Recovered   bool
	Size        int64    // bytes of the loaded save's file
	Temporaries []string // left after reopening
}

// Inspect reopens the store in dir (on opts.FS, or the OS file system) and
// loads slot.
func Inspect(opts *savegame.Options, dir, slot string) Outcome {
	store, err := savegame.Open[world.World](dir, opts)
	if err != nil {
		return Outcome{Err: err}
	}
	defer store.Close(context.Background())
	var fsys vfs.FS = vfs.OS{}
	if opts != nil && opts.FS != nil {
		fsys = opts.FS
	}
	var o Outcome
	names, _ := fsys.ReadDir(dir)
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			o.Temporaries = append(o.Temporaries, filepath.Join(dir, n))
		}
	}
	w, info, err := store.Load(context.Background(), slot)
	if err != nil {
		o.Err = err
		return o
	}
	o.Gen, o.Digest, o.Recovered, o.Size = info.Generation, w.Digest(), info.Recovered, info.Size
	return o
}

// JudgeOutcome is Judge for what Inspect found.
func (c *Checker) JudgeOutcome(o Outcome) {
	c.Judge(o.Err, o.Gen, o.Digest, o.Recovered, o.Temporaries)
}

// Verify inspects the store in dir and judges what it finds.
func (c *Checker) Verify(opts *savegame.Options, dir, slot string) {
	c.JudgeOutcome(Inspect(opts, dir, slot))
}

// NoSync wraps fsys into the negative control of the crash harnesses: a
// saver whose flushes do nothing, so it acknowledges saves that are still
// only in the page cache. A harness that passes it is not testing anything.
func NoSync(fsys vfs.FS) vfs.FS { return noSyncFS{fsys} }

type noSyncFS struct{ vfs.FS }

func (f noSyncFS) OpenFile(name string, flag int) (vfs.File, error) {
	file, err := f.FS.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return noSyncFile{file}, nil
}

func (f noSyncFS) CreateTemp(dir, prefix string) (vfs.File, error) {
	file, err := f.FS.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	return noSyncFile{file}, nil
}

func (noSyncFS) SyncDir(string) error { return nil }

type noSyncFile struct{ vfs.File }

func (noSyncFile) Sync() error     { return nil }
func (noSyncFile) Datasync() error { return nil }
