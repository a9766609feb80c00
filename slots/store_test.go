package slots

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots/vfs"
)

type testBody struct {
	Gen  uint64
	Data []byte
}

func mustOpen(t testing.TB, dir string, opts *Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadBody(t testing.TB, s *Store, name string) (testBody, Info) {
	t.Helper()
	f, info, err := s.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	var b testBody
	if err := f.Decode(&b); err != nil {
		t.Fatal(err)
	}
	return b, info
}

func TestCommitLoadListDelete(t *testing.T) {
	for _, fsys := range []struct {
		name string
		fs   vfs.FS
		dir  string
	}{{"os", vfs.OS{}, filepath.Join(t.TempDir(), "saves")}, {"crashfs", vfs.NewCrashFS(), "/saves"}} {
		t.Run(fsys.name, func(t *testing.T) {
			s := mustOpen(t, fsys.dir, &Options{FS: fsys.fs})
			defer s.Close()
			if _, _, err := s.Load("quick"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("empty store: %v", err)
			}
			for gen := uint64(1); gen <= 5; gen++ {
				next, _ := s.NextGeneration("quick")
				st, err := s.Commit("quick", enc(format.Params{Schema: 3, Meta: map[string]any{"n": gen}}, testBody{Gen: gen, Data: make([]byte, gen*1000)}))
				if err != nil {
					t.Fatal(err)
				}
				if st.Generation != gen || next != gen {
					t.Fatalf("commit %d got generation %d (next said %d)", gen, st.Generation, next)
				}
				if want := int((gen + 1) % 2); st.Slot != want {
					t.Fatalf("commit %d went to slot %d, want %d", gen, st.Slot, want)
				}
				b, info := loadBody(t, s, "quick")
				if b.Gen != gen || len(b.Data) != int(gen*1000) || info.Generation != gen || info.Recovered {
					t.Fatalf("load after commit %d: %+v %+v", gen, b.Gen, info)
				}
			}
			if _, err := s.Commit("other", enc(format.Params{}, testBody{Gen: 1})); err != nil {
				t.Fatal(err)
			}
			list, err := s.List()
			if err != nil || len(list) != 2 {
				t.Fatalf("list: %v %+v", err, list)
			}
			if e := list[1]; e.Name != "quick" || e.Status != StatusOK || e.Header.Generation != 5 || e.Header.Schema != 3 || e.Meta["n"] != int8(5) {
				t.Fatalf("list entry %+v", e)
			}
			if err := s.Delete("quick"); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Load("quick"); !errors.Is(err, ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
			if list, _ := s.List(); len(list) != 1 {
				t.Fatalf("list after delete: %+v", list)
			}
			// Generations continue after reopening.
			s.Close()
			s = mustOpen(t, fsys.dir, &Options{FS: fsys.fs})
			st, err := s.Commit("other", enc(format.Params{}, testBody{Gen: 2}))
			if err != nil || st.Generation != 2 {
				t.Fatalf("commit after reopen: %v %+v", err, st)
			}
		})
	}
}

func TestLoadFallsBackWhenCommittedSlotIsDamaged(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	for gen := uint64(1); gen <= 2; gen++ {
		if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: gen})); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Generation 2 is in slot 1; damage its last byte.
	p := filepath.Join(dir, "q.1.sav")
	b, _ := os.ReadFile(p)
	b[len(b)-1] ^= 1
	os.WriteFile(p, b, 0o600)
	s = mustOpen(t, dir, nil)
	defer s.Close()
	got, info := loadBody(t, s, "q")
	if got.Gen != 1 || !info.Recovered || info.Slot != 0 {
		t.Fatalf("got %+v %+v", got, info)
	}
	t.Logf("reason: %s", info.Reason)
	list, _ := s.List()
	if list[0].Status != StatusOK {
		// The header and metadata of slot 1 are intact: List, reading
		// only those, cannot see the damage.
		t.Fatalf("list: %+v", list[0])
	}
	// The next commit must not overwrite slot 0, the only good save.
	st, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 3}))
	if err != nil || st.Slot != 1 || st.Generation != 3 {
		t.Fatalf("commit: %v %+v", err, st)
	}
	if got, info := loadBody(t, s, "q"); got.Gen != 3 || info.Recovered {
		t.Fatalf("after repair: %+v %+v", got, info)
	}
	var ce *CorruptError
	os.WriteFile(filepath.Join(dir, "q.0.sav"), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(dir, "q.1.sav"), []byte("SAVEKIT"), 0o600)
	if _, _, err := s.Load("q"); !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || !errors.Is(ce.Reasons["q.0.sav"], format.ErrNotSave) {
		t.Fatalf("both damaged: %v", err)
	}
}

// lastGenForTest makes the next commit of name get generation gen+1.
func (s *Store) lastGenForTest(name string, gen uint64) {
	st, _ := s.slot(name, true)
	defer st.mu.Unlock()
	_ = s.resolve(name, st)
	st.lastGen = gen
}

func TestReadOnlyAndRepair(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	for gen := uint64(1); gen <= 2; gen++ {
		if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: gen})); err != nil {
			t.Fatal(err)
		}
	}
	// A reader opens while the writer holds the lock.
	ro, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := loadBody(t, ro, "q"); b.Gen != 2 {
		t.Fatalf("read-only load: %d", b.Gen)
	}
	if _, err := ro.Commit("q", enc(format.Params{}, testBody{})); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("read-only commit: %v", err)
	}
	ro.Close()
	if _, err := Open(filepath.Join(dir, "missing"), &Options{ReadOnly: true}); err == nil {
		t.Fatal("read-only open created a directory")
	}
	s.Close()

	// Damage the pointer: Repair rewrites it to the newest valid slot.
	os.WriteFile(filepath.Join(dir, "q.ptr"), []byte("garbage"), 0o600)
	os.WriteFile(filepath.Join(dir, ".q.0123.tmp"), []byte("left by a crash"), 0o600)
	s = mustOpen(t, dir, nil)
	defer s.Close()
	if got := s.RemovedTemporaries(); len(got) != 1 {
		t.Fatalf("removed %v", got)
	}
	did, err := s.Repair("q")
	if err != nil || did == "" {
		t.Fatalf("repair: %q %v", did, err)
	}
	if _, info := loadBody(t, s, "q"); info.Recovered || info.Generation != 2 {
		t.Fatalf("after repair: %+v", info)
	}
	if did, err := s.Repair("q"); err != nil || did != "" {
		t.Fatalf("second repair: %q %v", did, err)
	}
}

// TestCommitChecksTheWriteCallback: a write callback whose header is not
// the one it wrote, or not of the generation asked for, fails the commit,
// and the previous save still loads.
func TestCommitChecksTheWriteCallback(t *testing.T) {
	s, err := Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for range 3 { // both slot files and the pointer exist
		if _, err := s.Commit("q", enc(format.Params{}, "good")); err != nil {
			t.Fatal(err)
		}
	}
	for name, write := range map[string]WriteFunc{
		"another header": func(dst io.WriterAt, gen uint64) (format.Header, error) {
			h, err := format.EncodeFunc(format.Params{}, "bad", nil)(dst, gen)
			h.HeaderSum++
			return h, err
		},
		"another generation": func(dst io.WriterAt, gen uint64) (format.Header, error) {
			return format.EncodeFunc(format.Params{}, "bad", nil)(dst, gen+7)
		},
	} {
		if _, err := s.Commit("q", write); err == nil {
			t.Fatalf("%s: the commit succeeded", name)
		}
		f, _, err := s.Load("q")
		if err != nil {
			t.Fatalf("%s: Load: %v", name, err)
		}
		var got string
		if err := f.Decode(&got); err != nil || got != "good" {
			t.Fatalf("%s: loaded %q %v, want the previous save", name, got, err)
		}
	}
}

// TestLockHeldWithinTheProcess: a second Open of a store's directory in
// the same program is refused until the first closes, on every platform
// (under WebAssembly, which has no file locks, this is all the lock does).
func TestLockHeldWithinTheProcess(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second Open: %v, want ErrLocked", err)
	}
	a.Close()
	b, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	b.Close()
}
