package savegame

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savekit/savekit/format"
)

// A newest save whose body does not decode into the game's type (here
// written by another build of the game, with Owner a string) is passed
// over like a damaged file: the save before it loads, as Recovered, with
// the reason.
func TestLoadFallsBackPastABodyThatDoesNotDecode(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, &Options{Schema: 1})
	if err := s.Save("q", newWorld(1, 3), nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	s.Close(bg)
	type otherBuild struct{ Owner string }
	o, err := Open[otherBuild](dir, &Options{Schema: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Save("q", &otherBuild{Owner: "not a number"}, nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	o.Close(bg)

	s = open(t, dir, &Options{Schema: 1})
	defer s.Close(bg)
	w, info, err := s.Load(context.Background(), "q")
	if err != nil || w.Tick != 3 || info.Generation != 1 || !info.Recovered || !strings.Contains(info.Reason, "q.1.sav") {
		t.Fatalf("Load: %v, %+v, %+v; want generation 1, recovered, naming q.1.sav", err, w, info)
	}
	// The next save goes over the undecodable one, never over the save
	// Load returned.
	if err := s.Save("q", newWorld(1, 4), nil).Wait(bg); err != nil {
		t.Fatal(err)
	}
	if w, info, err := s.Load(context.Background(), "q"); err != nil || w.Tick != 4 || info.Recovered {
		t.Fatalf("after the next save: %v, %+v, %+v", err, w, info)
	}
	b, err := os.ReadFile(filepath.Join(dir, "q.0.sav"))
	if err != nil {
		t.Fatal(err)
	}
	if f, err := format.Parse(b, nil); err != nil || f.Header.Generation != 1 {
		t.Fatalf("q.0.sav, the save Load returned, was overwritten: %v", err)
	}
}

// A migration that fails on the newest save falls back to the save before
// it, which migrates; when every save fails, Load names each and the
// migration error is still errors.Is-able.
func TestLoadFallsBackPastAFailedMigration(t *testing.T) {
	dir := t.TempDir()
	type v1 struct{ Owner, Tick int }
	type v2 struct {
		Owner, Tick int
		Bad         bool
	}
	s1, err := Open[v1](dir, &Options{Schema: 1})
	if err != nil {
		t.Fatal(err)
	}
	s1.Save("q", &v1{Owner: 1, Tick: 1}, nil).Wait(bg)
	s1.Close(bg)
	s2, err := Open[v2](dir, &Options{Schema: 2, Migrations: map[uint32]Migration{1: func(old any) (any, error) { return old, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	s2.Save("q", &v2{Owner: 1, Tick: 2, Bad: true}, nil).Wait(bg)
	s2.Close(bg)

	errBad := errors.New("cannot migrate a bad save")
	migrations := map[uint32]Migration{
		1: func(old any) (any, error) { return old, nil },
		2: func(old any) (any, error) {
			if old.(map[string]any)["Bad"] == true {
				return nil, errBad
			}
			return old, nil
		},
	}
	s3, err := Open[v2](dir, &Options{Schema: 3, Migrations: migrations})
	if err != nil {
		t.Fatal(err)
	}
	w, info, err := s3.Load(context.Background(), "q")
	if err != nil || w.Tick != 1 || !info.Recovered || !info.Migrated || !strings.Contains(info.Reason, "cannot migrate") {
		t.Fatalf("Load: %v, %+v, %+v; want generation 1 migrated, recovered", err, w, info)
	}
	s3.Close(bg)

	migrations[1] = func(any) (any, error) { return nil, errBad }
	s3, err = Open[v2](dir, &Options{Schema: 3, Migrations: migrations})
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close(bg)
	if _, _, err := s3.Load(context.Background(), "q"); !errors.Is(err, ErrMigration) || !errors.Is(err, errBad) || !strings.Contains(err.Error(), "q.0.sav") || !strings.Contains(err.Error(), "q.1.sav") {
		t.Fatalf("no save migrates: %v", err)
	}
}

// panickyMeta is a metadata value whose own encoder panics.
type panickyMeta struct{}

func (panickyMeta) MarshalMsgpack() ([]byte, error) { panic("boom in the game's marshaler") }

// A panic in the game's own marshal method, met while proving metadata on
// the caller, is a failed Pending, never a crash of the game thread.
func TestSaveDoesNotPanicOnAMetadataMarshaler(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	defer s.Close(bg)
	err := s.Save("q", newWorld(1, 1), &SaveOptions{Meta: map[string]any{"x": panickyMeta{}}}).Wait(bg)
	if !errors.Is(err, ErrPanic) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("Save: %v, want ErrPanic", err)
	}
}

// State tells a pending save from a saved and a failed one, without
// blocking.
func TestPendingState(t *testing.T) {
	p := newPending()
	if p.State() != StatePending || p.Err() != nil {
		t.Fatalf("new: %v %v", p.State(), p.Err())
	}
	p.resolve(3, Stats{}, nil)
	if p.State() != StateSaved || p.State().String() != "saved" {
		t.Fatalf("resolved: %v", p.State())
	}
	s := open(t, t.TempDir(), nil)
	defer s.Close(bg)
	failed := s.Save("bad/name", newWorld(1, 1), nil)
	<-failed.Done()
	if failed.State() != StateFailed || failed.Err() == nil {
		t.Fatalf("a refused save: %v %v", failed.State(), failed.Err())
	}
	ok := s.Save("q", newWorld(1, 1), nil)
	if err := ok.Wait(bg); err != nil || ok.State() != StateSaved {
		t.Fatalf("a save: %v %v", ok.State(), err)
	}
}
