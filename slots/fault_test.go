package slots

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/savekit/savekit/format"

	"github.com/savekit/savekit/slots/vfs"
)

// TestFaultInjection fails every operation of a commit in turn, with each
// error a disk gives, and checks: the commit reports the cause, the
// previous save still loads, the store keeps working, and after reopening
// no temporary remains.
func TestFaultInjection(t *testing.T) {
	faults := []struct {
		name string
		err  error
		is   error
	}{
		{"ENOSPC", vfs.ENOSPC, vfs.ENOSPC},
		{"EIO", vfs.EIO, vfs.EIO},
		{"EACCES", vfs.EACCES, vfs.EACCES},
		{"EROFS", vfs.EROFS, vfs.EROFS},
		{"short write", vfs.ErrShortWrite, io.ErrShortWrite},
	}
	cases, failures := 0, 0
	for _, prior := range []uint64{0, 1, 3} { // first commit, second, steady state
		// Count the operations of the commit under test.
		inner, s := faultSetup(t, prior)
		ff := vfs.NewFaultFS(inner)
		s.fs = ff
		if _, err := s.Commit("slot", enc(format.Params{}, crashBody(prior+1))); err != nil {
			t.Fatal(err)
		}
		n := ff.Count()
		log := ff.Log()
		s.Close()
		// The new save may become visible once its slot file is flushed
		// or the pointer naming it is written, whichever comes first.
		visible := n
		for i, l := range log {
			if strings.HasPrefix(l, string(vfs.OpDatasync)) || strings.HasPrefix(l, string(vfs.OpWrite)) && strings.HasSuffix(l, ".ptr") {
				visible = i + 1
				break
			}
		}
		for k := 1; k <= n; k++ {
			for _, f := range faults {
				kind := vfs.Op(strings.Fields(log[k-1])[0])
				if f.err == vfs.ErrShortWrite && kind != vfs.OpWrite {
					continue
				}
				cases++
				inner, s := faultSetup(t, prior)
				ff := vfs.NewFaultFS(inner, vfs.Rule{Nth: k, Err: f.err})
				s.fs = ff
				_, err := s.Commit("slot", enc(format.Params{}, crashBody(prior+1)))
				where := fmt.Sprintf("commit after %d, %s at op %d (%s)", prior, f.name, k, log[k-1])
				if err == nil {
					t.Fatalf("%s: commit succeeded", where)
				}
				failures++
				if !errors.Is(err, f.is) {
					t.Fatalf("%s: error %v does not wrap %v", where, err, f.is)
				}
				ff.ClearRules()
				// Before that, only the previous save may load; after, the
				// new one may too. Never anything else.
				checkAfterFault(t, where, s, prior, k >= visible)
				// The store keeps working: the next commit succeeds.
				if _, err := s.Commit("slot", enc(format.Params{}, crashBody(prior+2))); err != nil {
					t.Fatalf("%s: next commit: %v", where, err)
				}
				checkAfterFault(t, where+", then a good commit", s, prior+2, false)
				s.Close()
				// Reopening removes any temporary.
				s2, err := Open(crashDir, &Options{FS: inner})
				if err != nil {
					t.Fatalf("%s: reopen: %v", where, err)
				}
				names, _ := inner.ReadDir(crashDir)
				for _, nm := range names {
					if isTemp(nm) {
						t.Fatalf("%s: temporary %s left after reopening", where, nm)
					}
				}
				s2.Close()
			}
		}
	}
	t.Logf("fault injection: %d cases, %d failed commits, all recovered", cases, failures)
}

// faultSetup returns a CrashFS with prior commits and a store open on it.
func faultSetup(t *testing.T, prior uint64) (*vfs.CrashFS, *Store) {
	inner := vfs.NewCrashFS()
	s := mustOpen(t, crashDir, &Options{FS: inner})
	for g := uint64(1); g <= prior; g++ {
		if _, err := s.Commit("slot", enc(format.Params{}, crashBody(g))); err != nil {
			t.Fatal(err)
		}
	}
	return inner, s
}

// checkAfterFault loads through a fresh store: the previous save, or (when
// the failure came after the new pointer was written) the new one.
func checkAfterFault(t *testing.T, where string, s *Store, prior uint64, newAllowed bool) {
	t.Helper()
	f, _, err := s.Load("slot")
	if prior == 0 && err != nil {
		// Nothing was ever acknowledged: no save is a correct answer.
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s: load: %v", where, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: load: %v", where, err)
	}
	var b testBody
	if err := f.Decode(&b); err != nil {
		t.Fatal(err)
	}
	if b.Gen != prior && !(newAllowed && b.Gen == prior+1) {
		t.Fatalf("%s: loaded generation %d, want %d", where, b.Gen, prior)
	}
	if want := crashBody(b.Gen); string(b.Data) != string(want.Data) {
		t.Fatalf("%s: wrong contents", where)
	}
}

// TestLockHeldByAnotherProcess re-executes the test binary as a process
// that opens the store and waits; this process must get ErrLocked until
// that one is killed with SIGKILL.
func TestLockHeldByAnotherProcess(t *testing.T) {
	if dir := os.Getenv("SAVEKIT_LOCK_HOLDER"); dir != "" {
		s, err := Open(dir, nil)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Minute) // killed long before
		s.Close()
		os.Exit(0)
	}
	if runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		t.Skip("no processes under WebAssembly; its lock holds within the process (TestLockHeldWithinTheProcess)")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHeldByAnotherProcess$")
	cmd.Env = append(os.Environ(), "SAVEKIT_LOCK_HOLDER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		cmd.Process.Kill()
		t.Fatalf("holder said %q", line)
	}
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		cmd.Process.Kill()
		t.Fatalf("second process: got %v, want ErrLocked", err)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()
	s, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("after the holder was killed: %v", err)
	}
	s.Close()
	// Within one process too, a second Open of the same directory is refused.
	s, _ = Open(dir, nil)
	if _, err := Open(dir, nil); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open in one process: %v", err)
	}
	s.Close()
}

func TestHostileNames(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "store")
	s := mustOpen(t, dir, nil)
	defer s.Close()
	if _, err := s.Commit("Quick", enc(format.Params{}, testBody{Gen: 1})); err != nil {
		t.Fatal(err)
	}
	hostile := []string{
		"", ".", "..", "../escape", "a/b", `a\b`, "/abs", `C:\x`, "a\x00b", strings.Repeat("a", 65),
		".lock", "lock.", "CON", "con", "Nul", "COM1", "lpt9", "AUX", "PRN", "a b", "a.b", "ä", "\u202ename",
		"quick", "QUICK", "name\n", "*", "?", "a:b", "~", "-h", "--json", "-",
	}
	for _, name := range hostile {
		_, err := s.Commit(name, enc(format.Params{}, testBody{Gen: 1}))
		if !errors.Is(err, ErrInvalidName) {
			t.Errorf("Commit(%q): got %v, want ErrInvalidName", name, err)
		}
		if _, _, err := s.Load(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Load(%q): got %v, want ErrInvalidName", name, err)
		}
		if err := s.Delete(name); !errors.Is(err, ErrInvalidName) {
			t.Errorf("Delete(%q): got %v, want ErrInvalidName", name, err)
		}
	}
	if got, _ := os.ReadDir(parent); len(got) != 1 || got[0].Name() != "store" {
		t.Fatalf("something was created beside the store: %v", got)
	}
	want := map[string]bool{".lock": true, "Quick.0.sav": true, "Quick.ptr": true}
	got, _ := os.ReadDir(dir)
	for _, e := range got {
		if !want[e.Name()] {
			t.Errorf("unexpected file %s in the store", e.Name())
		}
	}
	// The longest valid name works.
	if _, err := s.Commit(strings.Repeat("z", 64), enc(format.Params{}, testBody{Gen: 1})); err != nil {
		t.Fatal(err)
	}
}

func TestSymlinksAreNeverWrittenThrough(t *testing.T) {
	// before is how many commits make the planted file the next commit's
	// target, so the link is met where the commit writes in place, with
	// the store's state already known (nothing read first).
	for _, c := range []struct {
		planted string
		before  int
	}{{"q.0.sav", 2}, {"q.1.sav", 3}, {"q.ptr", 2}} {
		t.Run(c.planted, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			os.WriteFile(victim, []byte("precious"), 0o600)
			s := mustOpen(t, dir, nil)
			defer func() { s.Close() }()
			for i := range c.before {
				if _, err := s.Commit("q", enc(format.Params{}, testBody{Gen: uint64(i + 1)})); err != nil {
					t.Fatal(err)
				}
			}
			os.Remove(filepath.Join(dir, c.planted))
			if err := os.Symlink(victim, filepath.Join(dir, c.planted)); err != nil {
				t.Skip("no symlinks here:", err)
			}
			st, err := s.Commit("q", enc(format.Params{}, testBody{Gen: 9, Data: []byte("overwrite")}))
			// The commit notices the link where its file was, and replaces
			// the link (by rename) instead of writing through it.
			if err != nil {
				t.Fatalf("commit onto a link at %s: %v", c.planted, err)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Fatalf("commit wrote through the link at %s: %q", c.planted, b)
			}
			if fi, err := os.Lstat(filepath.Join(dir, c.planted)); err != nil || !fi.Mode().IsRegular() {
				t.Fatalf("after the commit %s is %v (%v), want a regular file", c.planted, fi.Mode(), err)
			}
			fresh := mustOpen(t, dir, &Options{ReadOnly: true})
			if f, info, err := fresh.Load("q"); err != nil || info.Generation != st.Generation || info.Recovered {
				t.Fatalf("after the commit over a link at %s: %v %+v %v", c.planted, f, info, err)
			}
			fresh.Close()
			// A new store meets it on the read path too.
			s.Close()
			s = mustOpen(t, dir, nil)
			for range 3 {
				s.Commit("q", enc(format.Params{}, testBody{Gen: 9, Data: []byte("overwrite")}))
			}
			s.Load("q")
			s.List()
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Fatalf("written through the link at %s: %q", c.planted, b)
			}
		})
	}
}

// TestRealDiskCycles commits and loads 1,000 saves of random sizes on the
// real file system.
func TestRealDiskCycles(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	dir := t.TempDir()
	s := mustOpen(t, dir, nil)
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	var last uint64
	for i := range n {
		name := fmt.Sprintf("slot%d", i%3)
		body := testBody{Gen: uint64(i), Data: make([]byte, r.IntN(256<<10))}
		for j := range body.Data {
			body.Data[j] = byte(j * i)
		}
		st, err := s.Commit(name, enc(format.Params{Schema: 1}, body))
		if err != nil {
			t.Fatal(err)
		}
		if i >= 3 && st.Generation <= last/3 {
			t.Fatalf("generation went backwards")
		}
		f, info, err := s.Load(name)
		if err != nil {
			t.Fatal(err)
		}
		var got testBody
		if err := f.Decode(&got); err != nil {
			t.Fatal(err)
		}
		if info.Generation != st.Generation || got.Gen != body.Gen || string(got.Data) != string(body.Data) {
			t.Fatalf("cycle %d: loaded %d/%d, committed %d", i, info.Generation, got.Gen, st.Generation)
		}
		last = uint64(i)
	}
}
