//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runCLIWithin runs the CLI, failing the test if it has not returned after
// a minute: an open of a FIFO for reading blocks until a writer comes.
func runCLIWithin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	type res struct {
		code     int
		out, err string
	}
	done := make(chan res, 1)
	go func() {
		code, out, errOut := runCLI(args...)
		done <- res{code, out, errOut}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-time.After(time.Minute):
		t.Fatalf("savegame %s hung", strings.Join(args, " "))
		return 0, "", ""
	}
}

// goodStore copies the good test store: quick.1.sav (generation 2) is
// committed, quick.0.sav holds generation 1.
func goodStore(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "store")
	copyDir(t, filepath.Join("testdata", "stores", "good"), dir)
	return dir
}

// A FIFO where the newest slot file should be: every command finishes,
// and those that read the slot get the older save, saying so.
func TestCommandsPassOverAFIFO(t *testing.T) {
	dir := goodStore(t)
	newest := filepath.Join(dir, "quick.1.sav")
	os.Remove(newest)
	if err := syscall.Mkfifo(newest, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	slot := filepath.Join(dir, "quick")
	if code, out, _ := runCLIWithin(t, "list", dir); code != exitOK || !strings.Contains(out, "recovered") {
		t.Errorf("list: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLIWithin(t, "verify", dir); code != exitOK || !strings.Contains(out, "loads generation 1, recovered") || !strings.Contains(out, "FIFO") {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLIWithin(t, "inspect", slot); code != exitDamaged || !strings.Contains(out, "Load returns: file A, generation 1, recovered") {
		t.Errorf("inspect: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLIWithin(t, "inspect", newest); code != exitDamaged || !strings.Contains(out, "not a regular file") {
		t.Errorf("inspect the FIFO: exit %d\n%s", code, out)
	}
	if code, _, errOut := runCLIWithin(t, "dump", newest); code != exitFailed || !strings.Contains(errOut, "not a regular file") {
		t.Errorf("dump the FIFO: exit %d\n%s", code, errOut)
	}
}

// dump of a slot whose newest save does not load prints the older one,
// and says so on standard error and by its exit status.
func TestDumpSaysItFellBack(t *testing.T) {
	dir := goodStore(t)
	p := filepath.Join(dir, "quick.1.sav")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLIWithin(t, "dump", filepath.Join(dir, "quick"))
	if code != exitDamaged || out == "" || !strings.Contains(errOut, "dumped generation 1") {
		t.Fatalf("exit %d, want %d; stdout %q; stderr %q", code, exitDamaged, out, errOut)
	}
	if code, _, _ := runCLIWithin(t, "dump", filepath.Join(goodStore(t), "quick")); code != exitOK {
		t.Fatalf("dump of a good slot: exit %d", code)
	}
}

// A pointer that is a link to /dev/zero is refused, not read without end.
func TestInspectRefusesAPointerLinkedToDevZero(t *testing.T) {
	dir := goodStore(t)
	ptr := filepath.Join(dir, "quick.ptr")
	os.Remove(ptr)
	if err := os.Symlink("/dev/zero", ptr); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if code, out, _ := runCLIWithin(t, "inspect", ptr); code != exitDamaged || !strings.Contains(out, "pointer quick.ptr:") {
		t.Errorf("inspect the pointer: exit %d\n%s", code, out)
	}
	if code, out, _ := runCLIWithin(t, "inspect", filepath.Join(dir, "quick")); code != exitDamaged || !strings.Contains(out, "Load returns: file B, generation 2, recovered") {
		t.Errorf("inspect the slot: exit %d\n%s", code, out)
	}
}
