package main

import (
	"bytes"
	"encoding/json"
	"github.com/savekit/savekit/format"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/savekit/savekit/slots"
)

func runCLI(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// A save whose maps have integer keys loads in a game; verify, which
// knows no game's types, must say so too.
func TestVerifyLoadsMapsWithIntegerKeys(t *testing.T) {
	dir := t.TempDir()
	s, err := slots.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit("q", format.EncodeFunc(format.Params{Schema: 1}, struct{ Inv map[int]string }{map[int]string{3: "key", 7: "sword"}}, nil)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if code, out, errOut := runCLI("verify", dir); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}

// inspect DIR/SLOT exits 1 when any file of the slot is damaged, also when
// it is the older one and the newest save loads.
func TestInspectSlotFailsOnADamagedOlderFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	copyDir(t, filepath.Join("testdata", "stores", "good"), dir)
	p := filepath.Join(dir, "quick.0.sav") // generation 1; the pointer names quick.1.sav
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	copy(b[len(b)-16:], make([]byte, 16))
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("inspect", filepath.Join(dir, "quick"))
	if code != exitDamaged || !strings.Contains(out, "generation 2") {
		t.Fatalf("exit %d, want %d:\n%s", code, exitDamaged, out)
	}
}

// A mistyped store path is an error, and no directory appears there.
func TestEditDoesNotCreateAMistypedStore(t *testing.T) {
	typo := filepath.Join(t.TempDir(), "typo")
	t.Setenv("EDITOR", "true")
	if code, _, _ := runCLI("edit", filepath.Join(typo, "quick")); code == exitOK {
		t.Fatal("edit of a missing store succeeded")
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Fatalf("edit created %s (%v)", typo, err)
	}
}

// list -json renders metadata as dump -meta does: a NaN is written, not a
// silent empty output.
func TestListJSONWritesNaN(t *testing.T) {
	dir := t.TempDir()
	s, err := slots.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit("q", format.EncodeFunc(format.Params{Meta: map[string]any{"ratio": math.NaN()}}, 1, nil)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, out, errOut := runCLI("list", "-json", dir)
	if code != exitOK || !strings.Contains(out, "NaN") || !json.Valid([]byte(out)) {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	code, meta, _ := runCLI("dump", "-meta", filepath.Join(dir, "q"))
	if code != exitOK || !strings.Contains(compact(t, out), compact(t, meta)) {
		t.Fatalf("list -json's metadata %s differs from dump -meta's %s", out, meta)
	}
}

func compact(t *testing.T, s string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// verify of a directory without saves says so and fails: a backup check
// must not pass on an empty folder.
func TestVerifyOfNoSavesFails(t *testing.T) {
	code, out, _ := runCLI("verify", t.TempDir())
	if code != exitDamaged || !strings.Contains(out, "no saves") {
		t.Fatalf("exit %d, want %d\n%s", code, exitDamaged, out)
	}
}

// edit (or dump) given a directory without a slot is a usage error.
func TestEditOfADirectoryIsAUsageError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	copyDir(t, filepath.Join("testdata", "stores", "good"), dir)
	for _, cmd := range []string{"edit", "dump"} {
		if code, _, errOut := runCLI(cmd, dir); code != exitUsage || !strings.Contains(errOut, "DIR/SLOT") {
			t.Errorf("%s DIR: exit %d, want %d: %s", cmd, code, exitUsage, errOut)
		}
	}
}

// Every command's -h says what it does and shows an example, and exits 0.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		code, out, errOut := runCLI(c.name, "-h")
		if code != exitOK || !strings.Contains(errOut, c.help) || !strings.Contains(errOut, "example:\n  savegame") && !strings.Contains(errOut, "example:\n  EDITOR") {
			t.Errorf("%s -h: exit %d\n%s%s", c.name, code, out, errOut)
		}
	}
}

// "-" is standard input or output: unpack a save, pack its JSON from
// standard input to standard output, and unpack that from standard input;
// the JSON comes back unchanged.
func TestDashIsStandardInputAndOutput(t *testing.T) {
	sav := filepath.Join("testdata", "stores", "good", "quick.1.sav")
	code, doc, errOut := runCLI("unpack", sav)
	if code != exitOK {
		t.Fatalf("unpack: exit %d: %s", code, errOut)
	}
	var packed, stderr bytes.Buffer
	if code := run([]string{"pack", "-", "-o", "-", "-schema", "1"}, strings.NewReader(doc), &packed, &stderr); code != exitOK || !strings.Contains(stderr.String(), "standard output") {
		t.Fatalf("pack - -o -: exit %d: %s", code, stderr.String())
	}
	var again bytes.Buffer
	stderr.Reset()
	if code := run([]string{"unpack", "-", "-o", "-"}, bytes.NewReader(packed.Bytes()), &again, &stderr); code != exitOK {
		t.Fatalf("unpack -: exit %d: %s", code, stderr.String())
	}
	if again.String() != doc {
		t.Fatalf("round trip through standard input and output changed the JSON:\n%s\nwant\n%s", again.String(), doc)
	}
}

// unpack, then pack with the fields inspect prints, rebuilds a save file
// byte for byte, also when its creation time has nanoseconds.
func TestUnpackPackRebuildsAFileExactly(t *testing.T) {
	dir := t.TempDir()
	s, err := slots.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 21, 10, 30, 0, 123456789, time.UTC)
	if _, err := s.Commit("q", format.EncodeFunc(format.Params{Schema: 4, Created: created, Meta: map[string]any{"title": "x"}}, map[string]any{"Score": 7}, nil)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	sav := filepath.Join(dir, "q.0.sav")
	_, info, _ := runCLI("inspect", "-json", sav)
	var rep struct{ Header struct{ Created string } }
	if err := json.Unmarshal([]byte(info), &rep); err != nil || rep.Header.Created != created.Format(time.RFC3339Nano) {
		t.Fatalf("inspect prints created %q (%v), want %q", rep.Header.Created, err, created.Format(time.RFC3339Nano))
	}
	body, meta := filepath.Join(dir, "body.json"), filepath.Join(dir, "meta.json")
	runCLI("unpack", sav, "-o", body)
	runCLI("unpack", sav, "-meta", "-o", meta)
	out := filepath.Join(dir, "rebuilt.sav")
	if code, _, errOut := runCLI("pack", body, "-meta", meta, "-schema", "4", "-generation", "1", "-created", rep.Header.Created, "-o", out); code != exitOK {
		t.Fatalf("pack: %s", errOut)
	}
	a, _ := os.ReadFile(sav)
	b, _ := os.ReadFile(out)
	if !bytes.Equal(a, b) {
		t.Fatalf("rebuilt file differs: %d vs %d bytes", len(a), len(b))
	}
}
