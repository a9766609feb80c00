package main

import (
	"testing"

	"github.com/savekit/savekit/demo/internal/crashcheck"
)

func TestSimPasses(t *testing.T) {
	c := crashcheck.New()
	mid, err := runSim(c, 500, 3, 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(summary(c, mid))
	if !c.OK() || c.LoadsOK != 500 || c.Recovered == 0 {
		t.Fatalf("%s; first problem: %s", summary(c, mid), c.FirstProblem)
	}
	// The cuts are spread over the last save's operations: nearly all
	// fall inside it, and some after its acknowledgement.
	if mid*100 < 80*500 || mid == 500 {
		t.Fatalf("%d of 500 cuts inside a save", mid)
	}
}

func TestSimCatchesADiskThatIgnoresFlushes(t *testing.T) {
	c := crashcheck.New()
	mid, err := runSim(c, 300, 4, 20, crashcheck.NoSync)
	t.Logf("%s; first problem: %s (%v)", summary(c, mid), c.FirstProblem, err)
	if c.OK() {
		t.Fatal("the harness passed a disk that ignores flushes")
	}
}
