package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/slots/vfs"
)

func TestCheckerJudges(t *testing.T) {
	c := newChecker()
	// Nothing saved yet: not found is right.
	c.judge(savegame.ErrNotFound, 0, 0, false, nil)
	for _, l := range []string{"saving 1 00000000000000aa", "acked 1 00000000000000aa", "saving 2 00000000000000bb"} {
		if err := c.line(l); err != nil {
			t.Fatal(err)
		}
	}
	c.judge(nil, 1, 0xaa, false, nil) // the acknowledged save
	c.judge(nil, 2, 0xbb, true, nil)  // the one in flight made it: newer is fine
	if c.loadsOK != 3 || c.recovered != 1 || !c.ok() {
		t.Fatalf("good cases: %s", c.summary())
	}
	c.judge(nil, 2, 0xcc, false, nil)               // wrong contents
	c.judge(nil, 7, 0xaa, false, nil)               // a generation never printed
	c.judge(errors.New("boom"), 0, 0, false, nil)   // a load that fails
	c.judge(savegame.ErrNotFound, 0, 0, false, nil) // gone after an ack
	c.judge(nil, 1, 0xaa, false, []string{".x.tmp"})
	if c.corrupt != 5 || c.ok() {
		t.Fatalf("bad cases: %s", c.summary())
	}
	if err := c.line("saving 3 00000000000000dd"); err != nil {
		t.Fatal(err)
	}
	c.line("acked 3 00000000000000dd")
	c.judge(nil, 2, 0xbb, false, nil) // older than acknowledged
	if c.lostAcked != 1 {
		t.Fatalf("lost ack not counted: %s", c.summary())
	}
	if got := c.summary(); got != "powerloss: kills=9 loads_ok=3 corrupt=5 lost_acked=1 recovered=1" {
		t.Fatalf("summary %q", got)
	}
	for _, bad := range []string{"saving x 1", "acked 1", "hello 1 2", "acked 3 00000000000000ee"} {
		if err := c.line(bad); err == nil {
			t.Errorf("line %q accepted", bad)
		}
	}
	if !strings.Contains(c.firstProblem, "cut 4") {
		t.Fatalf("first problem %q", c.firstProblem)
	}
}

// TestSimPasses runs the in-process harness end to end.
func TestSimPasses(t *testing.T) {
	c := newChecker()
	if err := runSim(c, 500, 3, 20, nil); err != nil {
		t.Fatal(err)
	}
	t.Log(c.summary())
	if !c.ok() || c.loadsOK != 500 || c.recovered == 0 {
		t.Fatalf("%s; first problem: %s", c.summary(), c.firstProblem)
	}
}

// ignoringFS is a disk that acknowledges flushes and keeps nothing: the
// harness must notice.
type ignoringFS struct{ vfs.FS }

func (f ignoringFS) OpenFile(name string, flag int) (vfs.File, error) {
	file, err := f.FS.OpenFile(name, flag)
	return ignoringFile{file}, err
}

func (f ignoringFS) CreateTemp(dir, prefix string) (vfs.File, error) {
	file, err := f.FS.CreateTemp(dir, prefix)
	return ignoringFile{file}, err
}

func (f ignoringFS) SyncDir(string) error { return nil }

type ignoringFile struct{ vfs.File }

func (ignoringFile) Sync() error     { return nil }
func (ignoringFile) Datasync() error { return nil }

func TestSimCatchesADiskThatIgnoresFlushes(t *testing.T) {
	c := newChecker()
	err := runSim(c, 300, 4, 20, func(f vfs.FS) vfs.FS { return ignoringFS{f} })
	t.Logf("%s; first problem: %s (%v)", c.summary(), c.firstProblem, err)
	if c.ok() {
		t.Fatal("the harness passed a disk that ignores flushes")
	}
}
