package vfs_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/savekit/savekit/format"

	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/slots"
	"github.com/savekit/savekit/slots/vfs"
)

// nullTemps is the real file system, except that each temporary it
// creates, though it is made in the directory as usual, is written
// through a descriptor of /dev/null: the writes succeed and the kernel
// then refuses to flush them (EINVAL), the way a disk that took the data
// into its cache and could not store it fails at the flush. Nothing here
// imitates an error: vfs.OS's own File meets it.
type nullTemps struct{ vfs.OS }

func (n nullTemps) CreateTemp(dir, prefix string) (vfs.File, error) {
	real, err := n.OS.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	name := real.Name()
	if err := real.Close(); err != nil {
		return nil, err
	}
	fd, err := syscall.Open(os.DevNull, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: os.DevNull, Err: err}
	}
	// Named as the temporary, so that renaming or removing it by name
	// acts on the real temporary in the directory.
	return vfs.OSFileOf(os.NewFile(uintptr(fd), name)), nil
}

func isFlushError(err error) bool {
	return errors.Is(err, syscall.EINVAL) && strings.Contains(err.Error(), "fdatasync")
}

// TestRealFlushErrorFailsTheCommit: when the kernel fails the flush of a
// new slot file, the commit returns that error, the previous save still
// loads, and no temporary outlives a reopening.
func TestRealFlushErrorFailsTheCommit(t *testing.T) {
	dir := t.TempDir()
	good, err := slots.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := good.Commit("q", format.EncodeFunc(format.Params{}, "first", nil)); err != nil {
		t.Fatal(err)
	}
	good.Close()

	// The second commit creates slot file 1: written to a temporary,
	// flushed (here the kernel refuses), renamed into place.
	s, err := slots.Open(dir, &slots.Options{FS: nullTemps{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Commit("q", format.EncodeFunc(format.Params{}, "second", nil))
	if !isFlushError(err) {
		t.Fatalf("commit whose flush the kernel refused: %v, want an fdatasync error wrapping EINVAL", err)
	}
	s.Close()

	s, err = slots.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, info, err := s.Load("q")
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := f.Decode(&got); err != nil || got != "first" || info.Generation != 1 || info.Recovered {
		t.Fatalf("after the failed commit: %q generation %d recovered %v (%v), want the first save", got, info.Generation, info.Recovered, err)
	}
	names, _ := os.ReadDir(dir)
	for _, e := range names {
		if strings.HasSuffix(e.Name(), ".tmp") || e.Name() == "q.1.sav" {
			t.Fatalf("%s left in the store after the failed commit", e.Name())
		}
	}
}

type world struct {
	Level int
	Name  string
}

// TestRealFlushErrorReachesThePending: a game's first save, whose flush
// the kernel refuses, resolves its Pending with that error (and no
// generation) and calls OnFailed; nothing loads afterwards, since nothing
// was acknowledged.
func TestRealFlushErrorReachesThePending(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "saves")
	var failed error
	st, err := savegame.Open[world](dir, &savegame.Options{
		FS:       nullTemps{},
		OnFailed: func(_ string, err error) { failed = err },
	})
	if err != nil {
		t.Fatal(err)
	}
	p := st.Save("slot1", &world{Level: 3, Name: "cave"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = p.Wait(ctx)
	if !isFlushError(err) {
		t.Fatalf("Pending of a save whose flush the kernel refused: %v, want an fdatasync error wrapping EINVAL", err)
	}
	if p.Generation() != 0 {
		t.Fatalf("a failed save has generation %d", p.Generation())
	}
	if !isFlushError(failed) {
		t.Fatalf("OnFailed got %v", failed)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := savegame.Open[world](dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close(ctx)
	if _, _, err := again.Load(context.Background(), "slot1"); !errors.Is(err, savegame.ErrNotFound) {
		t.Fatalf("load after the failed first save: %v, want ErrNotFound", err)
	}
}
