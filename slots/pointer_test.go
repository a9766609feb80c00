package slots

import (
	"bytes"
	"encoding/binary"
	"github.com/savekit/savekit/format"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// commitTwo makes generations 1 (slot 0) and 2 (slot 1) of "q" in a new
// store on the real disk and returns its directory.
func commitTwo(t *testing.T, created time.Time) string {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	defer s.Close()
	for gen := uint64(1); gen <= 2; gen++ {
		if _, err := s.Commit("q", enc(format.Params{Created: created}, crashBody(gen))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readPointerFile(t *testing.T, dir string) pointer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "q.ptr"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := parsePointer(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func writePointerFile(t *testing.T, dir string, p pointer) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "q.ptr"), p.marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// pointerEdits change one field of a pointer that names slot 1, keeping
// its checksum valid: a pointer that is well-formed but does not describe
// the file it names.
var pointerEdits = []struct {
	field string
	edit  func(*pointer)
}{
	{"generation", func(p *pointer) { p.Generation++ }},
	{"size", func(p *pointer) { p.Size-- }},
	{"header checksum", func(p *pointer) { p.HeaderSum ^= 1 }},
}

// TestPointerFieldsBindItToItsSlotFile: each of the pointer's generation,
// size and header checksum must match the slot file it names; a pointer
// that differs in any one of them is not trusted, and Load says the save
// it returns is a fallback, with the reason.
func TestPointerFieldsBindItToItsSlotFile(t *testing.T) {
	for _, c := range pointerEdits {
		t.Run(c.field, func(t *testing.T) {
			dir := commitTwo(t, time.Time{})
			p := readPointerFile(t, dir)
			if p.Slot != 1 || p.Generation != 2 {
				t.Fatalf("pointer %+v, want slot 1 generation 2", p)
			}
			c.edit(&p)
			writePointerFile(t, dir, p)
			s := mustOpen(t, dir, nil)
			defer s.Close()
			got, info := loadBody(t, s, "q")
			if !info.Recovered || info.Reason == "" {
				t.Fatalf("pointer with a wrong %s: loaded generation %d, recovered %v (%q); want a fallback with its reason", c.field, got.Gen, info.Recovered, info.Reason)
			}
			if want := crashBody(got.Gen); got.Gen < 1 || got.Gen > 2 || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("loaded generation %d with the wrong contents", got.Gen)
			}
			if e, ok := s.Describe("q"); !ok || e.Status != StatusRecovered {
				t.Fatalf("list: %+v, want %s", e, StatusRecovered)
			}
		})
	}
}

// TestRepairRewritesAPointerThatDoesNotMatch: Repair rewrites a pointer
// whose generation, size or header checksum is not its slot file's, after
// which the save loads through the pointer, not as a fallback.
func TestRepairRewritesAPointerThatDoesNotMatch(t *testing.T) {
	for _, c := range pointerEdits {
		t.Run(c.field, func(t *testing.T) {
			dir := commitTwo(t, time.Time{})
			p := readPointerFile(t, dir)
			c.edit(&p)
			writePointerFile(t, dir, p)
			s := mustOpen(t, dir, nil)
			defer s.Close()
			did, err := s.Repair("q")
			if err != nil || did == "" {
				t.Fatalf("repair of a pointer with a wrong %s: %q, %v; want it rewritten", c.field, did, err)
			}
			b, info := loadBody(t, s, "q")
			if info.Recovered {
				t.Fatalf("after repair: generation %d still recovered: %s", b.Gen, info.Reason)
			}
			q := readPointerFile(t, dir)
			if q.Generation != info.Generation || q.Slot != info.Slot || q.Size != info.Header.Size() || q.HeaderSum != info.Header.HeaderSum {
				t.Fatalf("repaired pointer %+v does not describe what loads: %+v", q, info)
			}
		})
	}
}

// TestForeignSlotFileIsNotTrusted: a valid save copied in from another
// store (a player restoring a backup, a sync client) over the file the
// pointer names has the same generation and size but another header: the
// pointer does not vouch for it.
func TestForeignSlotFileIsNotTrusted(t *testing.T) {
	mine := commitTwo(t, time.Unix(1000, 0))
	theirs := commitTwo(t, time.Unix(2000, 0)) // same bodies, another creation time
	foreign, err := os.ReadFile(filepath.Join(theirs, "q.1.sav"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mine, "q.1.sav"), foreign, 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, mine, nil)
	defer s.Close()
	b, info := loadBody(t, s, "q")
	if !info.Recovered {
		t.Fatalf("loaded generation %d (created %v) as the pointer's save; the pointer names another file", b.Gen, info.Header.Created)
	}
	if info.Header.Created.Equal(time.Unix(2000, 0)) {
		t.Fatalf("loaded the foreign file: %+v", info)
	}
}

// TestPointerChecksumCatchesEveryBitFlip: every single-bit change of a
// pointer record is rejected.
func TestPointerChecksumCatchesEveryBitFlip(t *testing.T) {
	rec := pointer{Slot: 1, Generation: 7, Size: 4242, HeaderSum: 0x0123456789abcdef}.marshal()
	if _, err := parsePointer(rec); err != nil {
		t.Fatal(err)
	}
	for bit := range len(rec) * 8 {
		b := bytes.Clone(rec)
		b[bit/8] ^= 1 << (bit % 8)
		if p, err := parsePointer(b); err == nil {
			t.Errorf("bit %d of byte %d flipped: parsed as %+v", bit%8, bit/8, p)
		}
	}
}

// TestFlippedPointerBitLosesNoSave: one flipped bit in the pointer's
// generation on disk makes the pointer invalid; Load then returns the
// newest valid save (generation 2), saying it recovered, never the older.
func TestFlippedPointerBitLosesNoSave(t *testing.T) {
	for _, bit := range []int{0, 1, 5, 17, 40, 63} {
		dir := commitTwo(t, time.Time{})
		path := filepath.Join(dir, "q.ptr")
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		gen := binary.LittleEndian.Uint64(b[16:])
		binary.LittleEndian.PutUint64(b[16:], gen^(1<<bit))
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s := mustOpen(t, dir, nil)
		got, info := loadBody(t, s, "q")
		s.Close()
		if got.Gen != 2 || !info.Recovered {
			t.Fatalf("generation bit %d flipped in the pointer: loaded generation %d (recovered %v: %s), want 2 recovered", bit, got.Gen, info.Recovered, info.Reason)
		}
	}
}
