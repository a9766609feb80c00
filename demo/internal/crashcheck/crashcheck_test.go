package crashcheck

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/savekit/savekit/savegame"
)

func TestCheckerJudges(t *testing.T) {
	c := New()
	// Nothing saved yet: not found is right.
	c.Judge(savegame.ErrNotFound, 0, 0, false, nil)
	for _, l := range []string{"saving 1 00000000000000aa", "acked 1 00000000000000aa", "saving 2 00000000000000bb"} {
		if err := c.Line(l); err != nil {
			t.Fatal(err)
		}
	}
	c.Judge(nil, 1, 0xaa, false, nil) // the acknowledged save
	c.Judge(nil, 2, 0xbb, true, nil)  // the one in flight made it: newer is fine
	if c.LoadsOK != 3 || c.Recovered != 1 || !c.OK() {
		t.Fatalf("good cases: %s", fmt.Sprintf("%+v", *c))
	}
	c.Judge(nil, 2, 0xcc, false, nil)             // wrong contents
	c.Judge(nil, 7, 0xaa, false, nil)             // a generation never printed
	c.Judge(errors.New("boom"), 0, 0, false, nil) // a load that fails
	c.Judge(nil, 1, 0xaa, false, []string{".x.tmp"})
	if c.Corrupt != 4 || c.OK() {
		t.Fatalf("bad cases: %s", fmt.Sprintf("%+v", *c))
	}
	if err := c.Line("saving 3 00000000000000dd"); err != nil {
		t.Fatal(err)
	}
	c.Line("acked 3 00000000000000dd")
	c.Judge(nil, 2, 0xbb, false, nil)               // older than acknowledged
	c.Judge(savegame.ErrNotFound, 0, 0, false, nil) // gone after an ack
	if c.LostAcked != 2 {
		t.Fatalf("lost acks not counted: %s", fmt.Sprintf("%+v", *c))
	}
	if c.Cuts != 9 || c.LoadsOK != 3 || c.Corrupt != 4 || c.LostAcked != 2 || c.Recovered != 1 {
		t.Fatalf("counts: %+v", *c)
	}
	for _, bad := range []string{"saving x 1", "acked 1", "hello 1 2", "acked 3 00000000000000ee"} {
		if err := c.Line(bad); err == nil {
			t.Errorf("line %q accepted", bad)
		}
	}
	if !strings.Contains(c.FirstProblem, "cut 4") {
		t.Fatalf("first problem %q", c.FirstProblem)
	}
}
