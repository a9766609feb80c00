package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/savekit/savekit/savegame"
)

// checker keeps what a saver said and judges what loads after each cut.
type checker struct {
	printed   map[uint64]uint64 // generation -> digest of the world saved as it
	lastAcked uint64            // newest acknowledged generation
	ackedDig  uint64

	cuts, loadsOK, corrupt, lostAcked, recovered int
	firstProblem                                 string
}

func newChecker() *checker { return &checker{printed: map[uint64]uint64{}} }

// line records one line of the saver's output: "saving GEN DIGEST" before a
// save, "acked GEN DIGEST" once it is durable. Other lines are errors.
func (c *checker) line(s string) error {
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
	if gen > c.lastAcked {
		c.lastAcked, c.ackedDig = gen, dig
	}
	return nil
}

// judge checks what loaded after a cut: the load must succeed (unless
// nothing was ever acknowledged), its generation be at least the last
// acknowledged one, its digest the one printed for that generation, and
// no temporary may be left after reopening.
func (c *checker) judge(loadErr error, gen, digest uint64, recovered bool, temps []string) {
	c.cuts++
	problem := ""
	switch {
	case errors.Is(loadErr, savegame.ErrNotFound) && c.lastAcked == 0:
		// Nothing acknowledged yet: nothing to find is right.
	case loadErr != nil:
		c.corrupt++
		problem = fmt.Sprintf("load failed: %v", loadErr)
	case gen < c.lastAcked:
		c.lostAcked++
		problem = fmt.Sprintf("loaded generation %d, but %d was acknowledged", gen, c.lastAcked)
	default:
		if want, ok := c.printed[gen]; !ok {
			c.corrupt++
			problem = fmt.Sprintf("loaded generation %d, which the saver never printed", gen)
		} else if want != digest {
			c.corrupt++
			problem = fmt.Sprintf("generation %d loaded with digest %016x, saved with %016x", gen, digest, want)
		}
	}
	if problem == "" && len(temps) > 0 {
		c.corrupt++
		problem = fmt.Sprintf("temporaries left after reopening: %v", temps)
	}
	if problem == "" {
		c.loadsOK++
		if recovered {
			c.recovered++
		}
	} else if c.firstProblem == "" {
		c.firstProblem = fmt.Sprintf("cut %d: %s", c.cuts, problem)
	}
}

// summary is the final line: exactly this format.
func (c *checker) summary() string {
	return fmt.Sprintf("powerloss: kills=%d loads_ok=%d corrupt=%d lost_acked=%d recovered=%d",
		c.cuts, c.loadsOK, c.corrupt, c.lostAcked, c.recovered)
}

func (c *checker) ok() bool { return c.corrupt == 0 && c.lostAcked == 0 }
