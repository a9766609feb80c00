// Command powerloss proves that a save survives the process being killed
// at any instant. It re-executes itself as a child that runs the demo
// world and saves it continuously, printing "saving GEN DIGEST" before
// every save starts and "acked GEN DIGEST" once it is acknowledged (each
// line one unbuffered write). It kills the child with SIGKILL inside a
// save: after reading a "saving" line, at a random instant (seeded) within
// the typical save duration the parent has measured from those lines. It
// then reopens the store, loads, and checks that the load succeeds, that
// its generation is at least the last acknowledged one, that its digest is
// the one printed for that generation, and that no temporary is left. The
// last lines are
//
//	kills: N, M inside a save (P%), typical save D
//	powerloss: kills=N mid_save=M loads_ok=N corrupt=C lost_acked=L recovered=R
//
// A kill is inside a save (mid_save) when the child had printed "saving"
// for a save it never acknowledged. The exit status is non-zero unless C
// and L are 0 and at least -min-mid-save percent of the kills (80 by
// default) were inside a save: kills between saves would prove little.
//
// With -sim the same loop runs in this process on the crash-simulating
// file system (slots/vfs.CrashFS), which also drops the page cache a real
// power cut loses: thousands of power cuts a second. There a cut is inside
// a save when it falls before the save's last operation.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/savekit/savekit/demo/internal/crashcheck"
	"github.com/savekit/savekit/demo/world"
	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/slots/vfs"
)

const slot = "powerloss"

const childEnv = "SAVEKIT_POWERLOSS_CHILD"

func main() {
	kills := flag.Int("kills", 200, "how many times to kill the saver (or, with -sim, cut the power)")
	seed := flag.Uint64("seed", 1, "seed for the world and the kill times")
	entities := flag.Int("entities", 10000, "entities in the world (with -sim, default 30)")
	dir := flag.String("dir", "", "store directory (default: a new temporary directory, removed at the end)")
	sim := flag.Bool("sim", false, "cut the power in process on the crash-simulating file system")
	minMid := flag.Int("min-mid-save", 80, "fail unless at least this percentage of kills (or cuts) lands inside a save")
	flag.Parse()

	if os.Getenv(childEnv) != "" {
		child(*dir, *entities, *seed)
		return
	}
	c := crashcheck.New()
	var (
		err     error
		midSave int
		typical time.Duration
	)
	if *sim {
		n := *entities
		if !flagSet("entities") {
			n = 30
		}
		midSave, err = runSim(c, *kills, *seed, n, nil)
	} else {
		d := *dir
		if d == "" {
			if d, err = os.MkdirTemp("", "savekit-powerloss-"); err != nil {
				fail(err)
			}
			defer os.RemoveAll(d)
		}
		midSave, typical, err = runKills(c, d, *kills, *seed, *entities)
	}
	fmt.Fprintln(os.Stderr)
	if err != nil {
		fail(err)
	}
	if c.FirstProblem != "" {
		fmt.Println("first problem:", c.FirstProblem)
	}
	noun := "kills"
	if *sim {
		noun = "cuts"
	}
	fmt.Printf("%s: %d, %d inside a save (%.1f%%)", noun, c.Cuts, midSave, percent(midSave, c.Cuts))
	if typical > 0 {
		fmt.Printf(", typical save %s", typical.Round(100*time.Microsecond))
	}
	fmt.Println()
	fmt.Println(summary(c, midSave))
	tooFew := midSave*100 < *minMid*c.Cuts
	if tooFew {
		fmt.Printf("only %d of %d %s landed inside a save; at least %d%% must\n", midSave, c.Cuts, noun, *minMid)
	}
	if !c.OK() || tooFew {
		os.Exit(1)
	}
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "powerloss:", err)
	os.Exit(2)
}

// child loads the last save (or starts a world) and saves forever.
func child(dir string, entities int, seed uint64) {
	store, err := savegame.Open[world.World](dir, nil)
	if err != nil {
		fail(err)
	}
	// fmt.Fprintln to os.Stdout is one write(2) per line, unbuffered: a
	// line is out before the next step, and a SIGKILL cannot tear it.
	say := func(line string) error {
		_, err := fmt.Fprintln(os.Stdout, line)
		return err
	}
	fail(crashcheck.SaveLoop(store, dir, nil, slot, seed, entities, -1, say, say))
}

// startTimeout bounds how long a child may take to start saving (exec,
// Open, Load of the last save, the first world steps) on a loaded machine.
const startTimeout = 2 * time.Minute

// saveTimes keeps the recent save durations seen from the parent: from
// reading a "saving" line to reading its "acked" line.
type saveTimes struct{ d []time.Duration }

func (s *saveTimes) add(d time.Duration) {
	s.d = append(s.d, d)
	if len(s.d) > 31 {
		s.d = s.d[1:]
	}
}

// typical is the median of the recent durations, 0 before the first. A
// delay drawn uniformly below it lands inside every save at least as long
// as the median, and across the whole of shorter ones.
func (s *saveTimes) typical() time.Duration {
	if len(s.d) == 0 {
		return 0
	}
	sorted := slices.Clone(s.d)
	slices.Sort(sorted)
	return sorted[len(sorted)/2]
}

// event is one line from the child and when the parent read it.
type event struct {
	line string
	at   time.Time
}

// runKills starts the child, kills it inside a save, checks, and again.
// Each child is killed during its first, second or third save (chosen at
// random, so that some kills hit a store's first save after opening and
// some a steady-state one), at a random instant within the typical save
// duration after the parent read that save's "saving" line. A kill counts
// as mid-save if the child had printed "saving" for a save it never
// acknowledged: the kill interrupted it.
func runKills(c *crashcheck.Checker, dir string, kills int, seed uint64, entities int) (midSave int, typical time.Duration, err error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	r := rand.New(rand.NewPCG(seed, 0xdead))
	var times saveTimes
	start := time.Now()
	for k := 1; k <= kills; k++ {
		cmd := exec.Command(exe, "-dir", dir, "-entities", strconv.Itoa(entities), "-seed", strconv.FormatUint(seed, 10))
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return midSave, times.typical(), err
		}
		if err := cmd.Start(); err != nil {
			return midSave, times.typical(), err
		}
		events := make(chan event, 1024)
		// On an early return the reader must not block on a full channel.
		drain := func() {
			go func() {
				for range events {
				}
			}()
		}
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				events <- event{sc.Text(), time.Now()}
			}
			close(events)
		}()
		var (
			lineErr  error
			last     string    // the child's last line
			savingAt time.Time // when its last "saving" line was read
			savings  int
		)
		take := func(e event) {
			if err := c.Line(e.line); err != nil && lineErr == nil {
				lineErr = err
			}
			last = e.line
			switch {
			case strings.HasPrefix(e.line, "saving "):
				savings++
				savingAt = e.at
			case strings.HasPrefix(e.line, "acked ") && !savingAt.IsZero():
				times.add(e.at.Sub(savingAt))
			}
		}
		target := 1 + r.IntN(3)
		timeout := time.After(startTimeout)
		var killAt time.Time
		for killAt.IsZero() {
			select {
			case e, ok := <-events:
				if !ok {
					cmd.Wait()
					drain()
					return midSave, times.typical(), fmt.Errorf("kill %d: the child exited before its save %d (%v)", k, target, lineErr)
				}
				take(e)
				// Before any save was timed (the first child) the target
				// moves on until one has been.
				if strings.HasPrefix(e.line, "saving ") && savings >= target && times.typical() > 0 {
					killAt = e.at.Add(time.Duration(r.Int64N(int64(times.typical()))))
				}
			case <-timeout:
				cmd.Process.Kill()
				cmd.Wait()
				drain()
				return midSave, times.typical(), fmt.Errorf("kill %d: the child had not started save %d after %v", k, target, startTimeout)
			}
		}
		time.Sleep(time.Until(killAt))
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
			drain()
			return midSave, times.typical(), err
		}
		cmd.Wait()
		for e := range events {
			take(e)
		}
		if lineErr != nil {
			return midSave, times.typical(), lineErr
		}
		if strings.HasPrefix(last, "saving ") {
			midSave++
		}
		c.Verify(nil, dir, slot)
		fmt.Fprintf(os.Stderr, "\rkill %d/%d  mid-save %d  save %s  acked generation %d  loads_ok=%d corrupt=%d lost_acked=%d recovered=%d  %s ",
			k, kills, midSave, times.typical().Round(100*time.Microsecond), c.LastAcked, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered, time.Since(start).Round(time.Second))
	}
	return midSave, times.typical(), nil
}

// runSim is the same loop in process, on a CrashFS: each round saves a few
// times, cuts the power at a random operation boundary of the last save (at
// the last boundary, that save was acknowledged), and checks what the cut
// left. The store reopened for the check, with the world it loaded, is the
// next round's saver, as a restarted game would be.
//
// wrap, if not nil, wraps the file system the saver sees (the negative
// control: a disk that ignores flushes).
//
// It returns how many cuts fell inside a save (before its last operation).
func runSim(c *crashcheck.Checker, cuts int, seed uint64, entities int, wrap func(vfs.FS) vfs.FS) (midSave int, err error) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	fsys := vfs.NewCrashFS()
	const dir = "/saves"
	start := time.Now()
	view := func(f *vfs.CrashFS) vfs.FS {
		if wrap != nil {
			return wrap(f)
		}
		return f
	}
	store, err := savegame.Open[world.World](dir, &savegame.Options{FS: view(fsys)})
	if err != nil {
		return 0, err
	}
	w := world.New(seed, entities)
	for k := 1; k <= cuts; k++ {
		n := 1 + r.IntN(3)
		var cut int
		for i := range n {
			w.Step(crashcheck.Player(w.Tick))
			gen, err := crashcheck.NextGeneration(dir, view(fsys), slot)
			if err != nil {
				return midSave, err
			}
			d := w.Digest()
			if err := c.Line(fmt.Sprintf("saving %d %016x", gen, d)); err != nil {
				return midSave, err
			}
			before := fsys.Ops()
			if err := store.Save(slot, w, nil).Wait(ctx); err != nil {
				return midSave, err
			}
			after := fsys.Ops()
			cut = after
			if i == n-1 {
				cut = before + r.IntN(after-before+1)
			}
			if cut < after {
				midSave++
			} else {
				if err := c.Line(fmt.Sprintf("acked %d %016x", gen, d)); err != nil {
					return midSave, err
				}
			}
		}
		crashed := fsys.CrashAt(cut, r.Uint64())
		store.Close(ctx) // the old process is gone; its file system with it
		fsys = crashed
		store, w, err = verifySim(c, fsys, view(fsys), dir, seed, entities)
		if err != nil {
			return midSave, err
		}
		if k%1000 == 0 || k == cuts {
			fmt.Fprintf(os.Stderr, "\rcut %d/%d  loads_ok=%d corrupt=%d lost_acked=%d recovered=%d  %.0f cuts/s ",
				k, cuts, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered, float64(k)/time.Since(start).Seconds())
		}
	}
	return midSave, store.Close(ctx)
}

// verifySim is verify on the crash file system, keeping the store and the
// loaded world (or a new one, when the check found nothing to load).
func verifySim(c *crashcheck.Checker, fsys *vfs.CrashFS, saverFS vfs.FS, dir string, seed uint64, entities int) (*savegame.Store[world.World], *world.World, error) {
	store, err := savegame.Open[world.World](dir, &savegame.Options{FS: saverFS})
	if err != nil {
		c.Judge(err, 0, 0, false, nil)
		return nil, nil, err
	}
	var temps []string
	names, _ := fsys.ReadDir(dir)
	for _, n := range names {
		if strings.HasSuffix(n, ".tmp") {
			temps = append(temps, n)
		}
	}
	w, info, err := store.Load(context.Background(), slot)
	if err != nil {
		c.Judge(err, 0, 0, false, temps)
		// Nothing loadable (correctly, or because the check failed):
		// the saver starts a new world; the check has counted it.
		return store, world.New(seed, entities), nil
	}
	c.Judge(nil, info.Generation, w.Digest(), info.Recovered, temps)
	return store, w, nil
}

// summary is the final line: exactly this format.
func summary(c *crashcheck.Checker, midSave int) string {
	return fmt.Sprintf("powerloss: kills=%d mid_save=%d loads_ok=%d corrupt=%d lost_acked=%d recovered=%d",
		c.Cuts, midSave, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered)
}
