package slots

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/savekit/savekit/format"
)

// flipHeaderBits calls check after flipping, one at a time, each bit of
// the header of the slot file the pointer names (generation 2 in slot 1),
// restoring the file in between.
func flipHeaderBits(t *testing.T, check func(s *Store, byteAt, bit int)) {
	dir := commitTwo(t, time.Unix(1000, 0))
	path := filepath.Join(dir, "q.1.sav")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir, nil)
	defer s.Close()
	for at := range format.HeaderSize {
		for bit := range 8 {
			b := bytes.Clone(good)
			b[at] ^= 1 << bit
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			check(s, at, bit)
		}
	}
}

// TestEveryHeaderBitFlipFallsBack: whichever bit of the newest save's
// header is flipped, Load does not return that save; it returns the one
// before, intact, and says it recovered.
func TestEveryHeaderBitFlipFallsBack(t *testing.T) {
	flipHeaderBits(t, func(s *Store, at, bit int) {
		f, info, err := s.Load("q")
		if err != nil {
			t.Fatalf("header byte %d bit %d flipped: %v", at, bit, err)
		}
		var b testBody
		if err := f.Decode(&b); err != nil {
			t.Fatalf("header byte %d bit %d flipped: %v", at, bit, err)
		}
		if b.Gen != 1 || info.Slot != 0 || !info.Recovered || !info.Header.Created.Equal(time.Unix(1000, 0)) {
			t.Fatalf("header byte %d bit %d flipped: loaded generation %d from slot %d (recovered %v, created %v), want generation 1 from slot 0, recovered", at, bit, b.Gen, info.Slot, info.Recovered, info.Header.Created)
		}
	})
}

// TestListSeesEveryHeaderBitFlip: List, which reads headers and metadata
// only, reports the slot as recovered and describes the save before it.
func TestListSeesEveryHeaderBitFlip(t *testing.T) {
	flipHeaderBits(t, func(s *Store, at, bit int) {
		e, ok := s.Describe("q")
		if !ok || e.Status != StatusRecovered || e.Slot != 0 || e.Header.Generation != 1 {
			t.Fatalf("header byte %d bit %d flipped: list says %s, slot %d, generation %d; want %s, slot 0, generation 1", at, bit, e.Status, e.Slot, e.Header.Generation, StatusRecovered)
		}
	})
}
