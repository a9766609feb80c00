// Command powerloss proves that a save survives the process being killed
// at any instant. It re-executes itself as a child that runs the demo
// world and saves it continuously, printing "saving GEN DIGEST" before and
// "acked GEN DIGEST" after every acknowledged save; it kills the child with
// SIGKILL at random instants (seeded; most land inside a save, since the
// child is always saving), reopens the store, loads, and checks that the
// load succeeds, that its generation is at least the last acknowledged one,
// that its digest is the one printed for that generation, and that no
// temporary is left. The last line is
//
//	powerloss: kills=N loads_ok=N corrupt=C lost_acked=L recovered=R
//
// and the exit status is non-zero unless C and L are 0.
//
// With -sim the same loop runs in this process on the crash-simulating
// file system (slots/vfs.CrashFS), which also drops the page cache a real
// power cut loses: thousands of power cuts a second.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
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
	maxDelay := flag.Duration("max-delay", 300*time.Millisecond, "longest time a child runs before it is killed")
	flag.Parse()

	if os.Getenv(childEnv) != "" {
		child(*dir, *entities, *seed)
		return
	}
	c := crashcheck.New()
	var err error
	if *sim {
		n := *entities
		if !flagSet("entities") {
			n = 30
		}
		err = runSim(c, *kills, *seed, n, nil)
	} else {
		d := *dir
		if d == "" {
			if d, err = os.MkdirTemp("", "savekit-powerloss-"); err != nil {
				fail(err)
			}
			defer os.RemoveAll(d)
		}
		err = runKills(c, d, *kills, *seed, *entities, *maxDelay)
	}
	fmt.Fprintln(os.Stderr)
	if err != nil {
		fail(err)
	}
	if c.FirstProblem != "" {
		fmt.Println("first problem:", c.FirstProblem)
	}
	fmt.Println(summary(c))
	if !c.OK() {
		os.Exit(1)
	}
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
	fail(crashcheck.SaveLoop(store, slot, seed, entities, -1, say, say))
}

// runKills starts the child, kills it, checks, and again.
func runKills(c *crashcheck.Checker, dir string, kills int, seed uint64, entities int, maxDelay time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(seed, 0xdead))
	start := time.Now()
	for k := 1; k <= kills; k++ {
		cmd := exec.Command(exe, "-dir", dir, "-entities", strconv.Itoa(entities), "-seed", strconv.FormatUint(seed, 10))
		cmd.Env = append(os.Environ(), childEnv+"=1")
		cmd.Stderr = os.Stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		lines := make(chan error, 1)
		go func() {
			sc := bufio.NewScanner(stdout)
			var first error
			for sc.Scan() {
				if err := c.Line(sc.Text()); err != nil && first == nil {
					first = err
				}
			}
			lines <- first
		}()
		time.Sleep(time.Duration(r.Int64N(int64(maxDelay))))
		if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
			return err
		}
		cmd.Wait()
		if err := <-lines; err != nil {
			return err
		}
		c.Verify(nil, dir, slot)
		fmt.Fprintf(os.Stderr, "\rkill %d/%d  acked generation %d  loads_ok=%d corrupt=%d lost_acked=%d recovered=%d  %s ",
			k, kills, c.LastAcked, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered, time.Since(start).Round(time.Second))
	}
	return nil
}

// runSim is the same loop in process, on a CrashFS: each round saves a few
// times, cuts the power at a random operation boundary of the last save (at
// the last boundary, that save was acknowledged), and checks what the cut
// left. The store reopened for the check, with the world it loaded, is the
// next round's saver, as a restarted game would be.
//
// wrap, if not nil, wraps the file system the saver sees (the negative
// control: a disk that ignores flushes).
func runSim(c *crashcheck.Checker, cuts int, seed uint64, entities int, wrap func(vfs.FS) vfs.FS) error {
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
		return err
	}
	w := world.New(seed, entities)
	for k := 1; k <= cuts; k++ {
		n := 1 + r.IntN(3)
		var cut int
		for i := range n {
			w.Step(crashcheck.Player(w.Tick))
			gen, err := store.NextGeneration(slot)
			if err != nil {
				return err
			}
			d := w.Digest()
			if err := c.Line(fmt.Sprintf("saving %d %016x", gen, d)); err != nil {
				return err
			}
			before := fsys.Ops()
			if err := store.Save(slot, w, nil).Wait(ctx); err != nil {
				return err
			}
			after := fsys.Ops()
			cut = after
			if i == n-1 {
				cut = before + r.IntN(after-before+1)
			}
			if cut == after {
				if err := c.Line(fmt.Sprintf("acked %d %016x", gen, d)); err != nil {
					return err
				}
			}
		}
		crashed := fsys.CrashAt(cut, r.Uint64())
		store.Close(ctx) // the old process is gone; its file system with it
		fsys = crashed
		store, w, err = verifySim(c, fsys, view(fsys), dir, seed, entities)
		if err != nil {
			return err
		}
		if k%1000 == 0 || k == cuts {
			fmt.Fprintf(os.Stderr, "\rcut %d/%d  loads_ok=%d corrupt=%d lost_acked=%d recovered=%d  %.0f cuts/s ",
				k, cuts, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered, float64(k)/time.Since(start).Seconds())
		}
	}
	return store.Close(ctx)
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
	w, info, err := store.Load(slot)
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
func summary(c *crashcheck.Checker) string {
	return fmt.Sprintf("powerloss: kills=%d loads_ok=%d corrupt=%d lost_acked=%d recovered=%d",
		c.Cuts, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered)
}
