//go:build unix

package slots

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots/vfs"
	"github.com/zeebo/xxh3"
)

// twoSaves makes a store on the real disk whose slot "q" holds generation
// 1 in q.0.sav and generation 2, committed, in q.1.sav.
func twoSaves(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	defer s.Close()
	for gen := uint64(1); gen <= 2; gen++ {
		if _, err := s.Commit("q", enc(format.Params{Meta: map[string]any{"gen": gen}}, testBody{Gen: gen})); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// withoutHanging runs f, failing the test with what if f has not returned
// after a minute: a FIFO opened for reading blocks until a writer comes.
func withoutHanging(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s hung", what)
	}
}

// plant replaces the file at path with something else.
type plant struct {
	name string
	make func(t *testing.T, path string) error
}

func oddThings(t *testing.T) []plant {
	other := filepath.Join(t.TempDir(), "elsewhere.sav")
	return []plant{
		{"directory", func(t *testing.T, p string) error { return os.Mkdir(p, 0o700) }},
		{"fifo", func(t *testing.T, p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"symlink to itself", func(t *testing.T, p string) error { return os.Symlink(filepath.Base(p), p) }},
		{"symlink to /dev/zero", func(t *testing.T, p string) error { return os.Symlink("/dev/zero", p) }},
		{"symlink to a valid copy", func(t *testing.T, p string) error {
			b, err := os.ReadFile(p + ".orig")
			if err != nil {
				return err
			}
			if err := os.WriteFile(other, b, 0o600); err != nil {
				return err
			}
			return os.Symlink(other, p)
		}},
	}
}

// TestLoadFallsBackPastOddFiles puts each odd thing where the newest slot
// file should be: Load, List, Describe and a read-only store all return
// the older save as Recovered, naming the file, and nothing blocks.
func TestLoadFallsBackPastOddFiles(t *testing.T) {
	for _, odd := range oddThings(t) {
		t.Run(odd.name, func(t *testing.T) {
			dir := twoSaves(t)
			newest := filepath.Join(dir, "q.1.sav")
			if err := os.Rename(newest, newest+".orig"); err != nil {
				t.Fatal(err)
			}
			if err := odd.make(t, newest); err != nil {
				t.Skip("cannot make it here:", err)
			}
			for _, ro := range []bool{false, true} {
				s := mustOpen(t, dir, &Options{ReadOnly: ro})
				withoutHanging(t, "Load", func() {
					b, info := loadBody(t, s, "q")
					if b.Gen != 1 || !info.Recovered || info.Slot != 0 || !strings.Contains(info.Reason, "q.1.sav") {
						t.Errorf("read-only %v: loaded generation %d, %+v; want generation 1, recovered, naming q.1.sav", ro, b.Gen, info)
					}
				})
				withoutHanging(t, "List", func() {
					list, err := s.List()
					if err != nil || len(list) != 1 || list[0].Status != StatusRecovered || list[0].Header.Generation != 1 || list[0].Verified {
						t.Errorf("read-only %v: list %v %+v", ro, err, list)
					}
				})
				s.Close()
			}
		})
	}
}

// TestLoadFallsBackPastAnOddPointer puts each odd thing where the pointer
// should be: the newest valid slot file loads, as Recovered.
func TestLoadFallsBackPastAnOddPointer(t *testing.T) {
	for _, odd := range oddThings(t) {
		t.Run(odd.name, func(t *testing.T) {
			dir := twoSaves(t)
			ptr := filepath.Join(dir, "q.ptr")
			if err := os.Rename(ptr, ptr+".orig"); err != nil {
				t.Fatal(err)
			}
			if err := odd.make(t, ptr); err != nil {
				t.Skip("cannot make it here:", err)
			}
			s := mustOpen(t, dir, &Options{ReadOnly: true})
			defer s.Close()
			withoutHanging(t, "Load", func() {
				b, info := loadBody(t, s, "q")
				if b.Gen != 2 || !info.Recovered || !strings.Contains(info.Reason, "q.ptr") {
					t.Errorf("loaded generation %d, %+v; want 2, recovered, naming q.ptr", b.Gen, info)
				}
			})
		})
	}
}

// TestPointerBindsSize: a pointer that names the right file, generation
// and header checksum but the wrong size (its own checksum recomputed)
// does not name that container: Load falls back and says why.
func TestPointerBindsSize(t *testing.T) {
	dir := twoSaves(t)
	ptr := filepath.Join(dir, "q.ptr")
	b, err := os.ReadFile(ptr)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])+1)
	binary.LittleEndian.PutUint64(b[56:], xxh3.Hash(b[:56]))
	if err := os.WriteFile(ptr, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir, &Options{ReadOnly: true})
	defer s.Close()
	got, info := loadBody(t, s, "q")
	if got.Gen != 1 || !info.Recovered || !strings.Contains(info.Reason, "bytes") {
		t.Fatalf("loaded generation %d, %+v; want 1, recovered, naming the size", got.Gen, info)
	}
}

// TestLoadFuncFallsBackPastARejectedSave: a save the caller's check
// rejects (a body that does not decode into the game's type) is passed
// over like a damaged one, and its reason kept.
func TestLoadFuncFallsBackPastARejectedSave(t *testing.T) {
	dir := twoSaves(t)
	s := mustOpen(t, dir, nil)
	defer s.Close()
	rejectTwo := func(f *format.File) error {
		var b testBody
		if err := f.Decode(&b); err != nil {
			return err
		}
		if b.Gen == 2 {
			return errors.New("does not decode into this game's type")
		}
		return nil
	}
	f, info, err := s.LoadFunc("q", rejectTwo)
	if err != nil || f.Header.Generation != 1 || !info.Recovered || !strings.Contains(info.Reason, "does not decode") {
		t.Fatalf("LoadFunc: %v, %+v", err, info)
	}
	// A commit after it must not overwrite the save it returned.
	if st, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 3})); err != nil || st.Slot != 1 {
		t.Fatalf("commit after the fallback: %v, slot %d, want slot 1", err, st.Slot)
	}
	_, _, err = s.LoadFunc("q", func(*format.File) error { panic("decoder bug") })
	var ce *CorruptError
	if !errors.As(err, &ce) || len(ce.Reasons) != 2 || !strings.Contains(err.Error(), "decoder bug") {
		t.Fatalf("every save rejected: %v, want a CorruptError naming both files", err)
	}
}

// replaceFile is another program putting a file of its own at path, by
// rename, as sync clients and file managers do.
func replaceFile(fsys vfs.FS, path string, content []byte) error {
	f, err := fsys.CreateTemp(filepath.Dir(path), "foreign")
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(content, 0); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fsys.Rename(f.Name(), path)
}

// TestForeignWritersBetweenCommits replaces or removes a slot file or the
// pointer while the store holds it open: the next commit must land in the
// directory as it is now, so that a fresh store loads it.
func TestForeignWritersBetweenCommits(t *testing.T) {
	type fsCase struct {
		name string
		fs   func() vfs.FS
		dir  func(t *testing.T) string
	}
	fss := []fsCase{
		{"os", func() vfs.FS { return vfs.OS{} }, func(t *testing.T) string { return t.TempDir() }},
		{"crashfs", func() vfs.FS { return vfs.NewCrashFS() }, func(*testing.T) string { return "/saves" }},
	}
	acts := []struct {
		name string
		do   func(fsys vfs.FS, dir string) error
	}{
		// After four commits, q.0.sav (the next target) and q.1.sav and
		// q.ptr (committed) are all held open.
		{"replace the next target", func(fsys vfs.FS, dir string) error {
			return replaceFile(fsys, filepath.Join(dir, "q.0.sav"), []byte("a player's file"))
		}},
		{"remove the next target", func(fsys vfs.FS, dir string) error { return fsys.Remove(filepath.Join(dir, "q.0.sav")) }},
		{"replace the pointer with a copy", func(fsys vfs.FS, dir string) error {
			f, err := fsys.OpenFile(filepath.Join(dir, "q.ptr"), os.O_RDONLY)
			if err != nil {
				return err
			}
			b := make([]byte, pointerSize)
			_, err = f.ReadAt(b, 0)
			f.Close()
			if err != nil {
				return err
			}
			return replaceFile(fsys, filepath.Join(dir, "q.ptr"), b)
		}},
		{"remove the pointer", func(fsys vfs.FS, dir string) error { return fsys.Remove(filepath.Join(dir, "q.ptr")) }},
		{"replace the committed file with a copy", func(fsys vfs.FS, dir string) error {
			f, err := fsys.OpenFile(filepath.Join(dir, "q.1.sav"), os.O_RDONLY)
			if err != nil {
				return err
			}
			size, _ := f.Size()
			b := make([]byte, size)
			_, err = f.ReadAt(b, 0)
			f.Close()
			if err != nil {
				return err
			}
			return replaceFile(fsys, filepath.Join(dir, "q.1.sav"), b)
		}},
	}
	for _, fc := range fss {
		for _, act := range acts {
			t.Run(fc.name+"/"+act.name, func(t *testing.T) {
				fsys, dir := fc.fs(), fc.dir(t)
				s := mustOpen(t, dir, &Options{FS: fsys})
				for gen := uint64(1); gen <= 4; gen++ {
					if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: gen})); err != nil {
						t.Fatal(err)
					}
				}
				if err := act.do(fsys, dir); err != nil {
					t.Fatal(err)
				}
				for gen := uint64(5); gen <= 6; gen++ {
					if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: gen})); err != nil {
						t.Fatalf("commit %d: %v", gen, err)
					}
					fresh := mustOpen(t, dir, &Options{FS: fsys, ReadOnly: true})
					b, info := loadBody(t, fresh, "q")
					fresh.Close()
					if b.Gen != gen || info.Recovered {
						t.Fatalf("after commit %d a fresh store loads generation %d (%+v)", gen, b.Gen, info)
					}
				}
				s.Close()
			})
		}
	}
}

// swapOnSync is a file system on which another program replaces a file
// by rename while the store is flushing it: the moment between a commit's
// check and its acknowledgement.
type swapOnSync struct {
	vfs.FS
	victim string
	done   atomic.Bool // the slot file and the pointer are flushed at once
}

type swapFile struct {
	vfs.File
	fs *swapOnSync
}

func (s *swapOnSync) OpenFile(name string, flag int) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return swapFile{f, s}, nil
}

func (f swapFile) Datasync() error {
	err := f.File.Datasync()
	if filepath.Base(f.Name()) == f.fs.victim && f.fs.done.CompareAndSwap(false, true) {
		if rerr := replaceFile(f.fs.FS, f.Name(), []byte("replaced")); rerr != nil {
			return fmt.Errorf("test: %w", rerr)
		}
	}
	return err
}

// TestForeignWriterDuringCommit: a file replaced while its write is being
// flushed fails the commit rather than acknowledge a save that is not in
// the directory; the previous save still loads.
func TestForeignWriterDuringCommit(t *testing.T) {
	for _, victim := range []string{"q.0.sav", "q.ptr"} {
		t.Run(victim, func(t *testing.T) {
			dir := t.TempDir()
			fsys := &swapOnSync{FS: vfs.OS{}}
			s := mustOpen(t, dir, &Options{FS: fsys})
			defer s.Close()
			for gen := uint64(1); gen <= 4; gen++ {
				if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: gen})); err != nil {
					t.Fatal(err)
				}
			}
			fsys.victim = victim
			_, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 5}))
			if err == nil || !strings.Contains(err.Error(), "replaced or removed by another program") {
				t.Fatalf("commit while %s was replaced: %v, want an error", victim, err)
			}
			// The previous save loads (with the pointer replaced by a
			// foreign file, by the newest valid header: generation 4 or
			// the unacknowledged 5, never less).
			fresh := mustOpen(t, dir, &Options{ReadOnly: true})
			b, _ := loadBody(t, fresh, "q")
			fresh.Close()
			if b.Gen < 4 || victim == "q.0.sav" && b.Gen != 4 {
				t.Fatalf("after the failed commit: generation %d loads, want 4", b.Gen)
			}
			// And the store goes on saving.
			if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 6})); err != nil {
				t.Fatalf("the commit after: %v", err)
			}
			fresh = mustOpen(t, dir, &Options{ReadOnly: true})
			defer fresh.Close()
			if b, info := loadBody(t, fresh, "q"); b.Gen != 6 || info.Recovered {
				t.Fatalf("after the next commit: generation %d loads (%+v), want 6", b.Gen, info)
			}
		})
	}
}

// TestCommitReplacesOddThingsAtItsTarget: a link or FIFO where the next
// commit's file should be is replaced by rename, never written through; a
// directory there fails the commit clearly, and the previous save loads.
func TestCommitReplacesOddThingsAtItsTarget(t *testing.T) {
	for _, odd := range oddThings(t) {
		t.Run(odd.name, func(t *testing.T) {
			dir := twoSaves(t)
			target := filepath.Join(dir, "q.0.sav")
			if err := os.Rename(target, target+".orig"); err != nil {
				t.Fatal(err)
			}
			if err := odd.make(t, target); err != nil {
				t.Skip("cannot make it here:", err)
			}
			s := mustOpen(t, dir, nil)
			var err error
			withoutHanging(t, "Commit", func() { _, err = s.Commit("q", enc(format.Params{}, testBody{Gen: 3})) })
			s.Close()
			fresh := mustOpen(t, dir, &Options{ReadOnly: true})
			defer fresh.Close()
			b, info := loadBody(t, fresh, "q")
			if odd.name == "directory" {
				if err == nil || b.Gen != 2 || info.Recovered {
					t.Fatalf("commit onto a directory: %v; then loads %d %+v, want an error and generation 2", err, b.Gen, info)
				}
				return
			}
			if err != nil || b.Gen != 3 || info.Recovered {
				t.Fatalf("commit: %v; then loads %d %+v, want generation 3", err, b.Gen, info)
			}
			if fi, err := os.Lstat(target); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("q.0.sav is %v after the commit (%v)", fi.Mode(), err)
			}
		})
	}
}

// TestCommitNeverOverwritesTheSaveCheckFallsBackTo: with Options.Check
// rejecting the newest save, a commit made before any Load (or after the
// slot is read again) writes over the rejected file, never over the only
// save that loads; with every save rejected it keeps the newest valid one.
func TestCommitNeverOverwritesTheSaveCheckFallsBackTo(t *testing.T) {
	dir := twoSaves(t)
	rejectTwo := func(f *format.File) error {
		if f.Header.Generation == 2 {
			return errors.New("does not decode into this game's type")
		}
		return nil
	}
	s := mustOpen(t, dir, &Options{Check: rejectTwo})
	st, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 3}))
	if err != nil || st.Slot != 1 {
		t.Fatalf("commit before any load: %v, went to slot %d; want slot 1 (over the rejected save)", err, st.Slot)
	}
	s.Close()
	fresh := mustOpen(t, dir, &Options{ReadOnly: true})
	if b, info := loadBody(t, fresh, "q"); b.Gen != 3 || info.Recovered {
		t.Fatalf("after the commit: %d %+v", b.Gen, info)
	}
	fresh.Close()

	dir = twoSaves(t)
	s = mustOpen(t, dir, &Options{Check: func(*format.File) error { return errors.New("no") }})
	defer s.Close()
	if st, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 3})); err != nil || st.Slot != 0 {
		t.Fatalf("every save rejected: %v, went to slot %d; want slot 0 (keeping the newest valid save)", err, st.Slot)
	}
}
