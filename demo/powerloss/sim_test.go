package main

import (
	"testing"

	"github.com/savekit/savekit/demo/internal/crashcheck"
)

func TestSimPasses(t *testing.T) {
	c := crashcheck.New()
	if err := runSim(c, 500, 3, 20, nil); err != nil {
		t.Fatal(err)
	}
	t.Log(summary(c))
	if !c.OK() || c.LoadsOK != 500 || c.Recovered == 0 {
		t.Fatalf("%s; first problem: %s", summary(c), c.FirstProblem)
	}
}

func TestSimCatchesADiskThatIgnoresFlushes(t *testing.T) {
	c := crashcheck.New()
	err := runSim(c, 300, 4, 20, crashcheck.NoSync)
	t.Logf("%s; first problem: %s (%v)", summary(c), c.FirstProblem, err)
	if c.OK() {
		t.Fatal("the harness passed a disk that ignores flushes")
	}
}
