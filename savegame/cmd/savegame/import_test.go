package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots"
)

// runWith runs the CLI with stdin as its standard input.
func runWith(stdin string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(stdin), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := runWith(stdin, args...)
	if code != exitOK {
		t.Fatalf("savegame %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// slotState is what list -json says of a slot.
type slotState struct {
	Slot       string
	Generation uint64
	File       string
	Schema     uint32
	Status     string
}

func listed(t *testing.T, dir, slot string) slotState {
	t.Helper()
	var all []slotState
	if err := json.Unmarshal([]byte(mustRun(t, "", "list", "-json", dir)), &all); err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Slot == slot {
			return s
		}
	}
	t.Fatalf("no slot %s in %s", slot, dir)
	return slotState{}
}

// jqSet does what jq '.field = value' does to a JSON object: the field
// keeps its place, or is added at the end.
func jqSet(t *testing.T, doc, field, value string) string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %v %v", tok, err)
	}
	var out bytes.Buffer
	out.WriteByte('{')
	set := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if tok == field {
			v, set = json.RawMessage(value), true
		}
		k, _ := json.Marshal(tok)
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		out.Write(k)
		out.WriteByte(':')
		out.Write(v)
	}
	if !set {
		k, _ := json.Marshal(field)
		if out.Len() > 1 {
			out.WriteByte(',')
		}
		out.Write(k)
		out.WriteByte(':')
		out.WriteString(value)
	}
	out.WriteByte('}')
	return out.String()
}

// loadAsGame decodes the save in file as the game that wrote the test
// stores does: into its own type.
func loadAsGame(t *testing.T, file string) (body, error) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := format.Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var v body
	return v, f.Decode(&v)
}

// checkImported checks a slot of the good store after an import that set
// Score to 9: Load returns generation 3 with the new score as the game's
// float32, the rest and the metadata and schema as they were, and
// generation 2 is still whole in the other slot file.
func checkImported(t *testing.T, dir, before, metaBefore string) {
	t.Helper()
	slot := filepath.Join(dir, "quick")
	after := mustRun(t, "", "dump", slot)
	want := strings.Replace(before, `"Score": {"$float32": 200.0}`, `"Score": {"$float32": 9.0}`, 1)
	if after != want {
		t.Fatalf("dump after import:\n%s\nwant\n%s", after, want)
	}
	if s := listed(t, dir, "quick"); s.Generation != 3 || s.File != "A" || s.Schema != 1 || s.Status != "ok" {
		t.Fatalf("after import the slot is %+v, want generation 3 in file A, schema 1, ok", s)
	}
	if meta := mustRun(t, "", "dump", "-meta", slot); meta != metaBefore {
		t.Fatalf("metadata changed:\n%s\nwant\n%s", meta, metaBefore)
	}
	g, err := loadAsGame(t, filepath.Join(dir, "quick.0.sav"))
	if err != nil || g.Score != 9 || g.Level != 2 {
		t.Fatalf("the game loads %+v, %v", g, err)
	}
	// The previous save is still there, whole, in the other slot file.
	old, err := loadAsGame(t, filepath.Join(dir, "quick.1.sav"))
	if err != nil || old.Score != 200 {
		t.Fatalf("the previous save: %+v, %v", old, err)
	}
	if !strings.Contains(mustRun(t, "", "inspect", filepath.Join(dir, "quick.1.sav")), "generation 2, schema 1") {
		t.Fatal("quick.1.sav no longer holds generation 2")
	}
}

// savegame dump DIR/SLOT | jq '.Score = 9' | savegame import DIR/SLOT -
func TestDumpJqImportPipeline(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	before := mustRun(t, "", "dump", slot)
	metaBefore := mustRun(t, "", "dump", "-meta", slot)
	edited := jqSet(t, before, "Score", "9")
	if out := mustRun(t, edited, "import", slot, "-"); out != "quick: committed generation 3 (was 2)\n" {
		t.Fatalf("import said %q", out)
	}
	checkImported(t, dir, before, metaBefore)
}

// The same pipeline with the real jq, when it is installed. jq 1.6 also
// prints every float that is whole without its point (-2.0 as -2); the
// save keeps them floats.
func TestDumpJqImportPipelineWithRealJq(t *testing.T) {
	jq, err := exec.LookPath("jq")
	if err != nil {
		t.Skip("jq is not installed")
	}
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	before := mustRun(t, "", "dump", slot)
	metaBefore := mustRun(t, "", "dump", "-meta", slot)
	cmd := exec.Command(jq, ".Score = 9")
	cmd.Stdin = strings.NewReader(before)
	edited, err := cmd.Output()
	if err != nil {
		t.Fatalf("jq: %v", err)
	}
	mustRun(t, string(edited), "import", slot, "-")
	checkImported(t, dir, before, metaBefore)
}

// goodStoreCopy copies the good test store: quick.1.sav holds generation
// 2, which Load returns; quick.0.sav generation 1.
func goodStoreCopy(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "store")
	copyDir(t, filepath.Join("testdata", "stores", "good"), dir)
	return dir
}

// snapshot is every file of dir, to show that a refused command wrote
// nothing.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == ".lock" {
			continue // made by every command that takes the lock
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		files[e.Name()] = string(b)
	}
	return files
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// import refuses a body the game would not load (a changed type, a
// removed field), names each place, writes nothing; -force commits it,
// and then indeed the game's Load fails.
func TestImportRefusesWhatTheGameWouldNotLoad(t *testing.T) {
	for _, c := range []struct {
		name, field, value, want string
	}{
		{"score becomes a string", "Score", `"lots"`, ".Score: was float32, now string"},
		{"a float where the game has an int", "Level", `2.5`, ".Level: was integer, now float64"},
		{"a float64 where the game has a float32", "Score", `9.5`, ".Score: was float32, now float64"},
		{"an item becomes a number", "Items", `["sword", 5]`, ".Items[1]: was string, now integer"},
		{"a field of the player removed", "Player", `{"name": "Ada", "pos": [1.5, -2.0]}`, ".Player.hp: removed (it was integer)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := goodStoreCopy(t)
			slot := filepath.Join(dir, "quick")
			edited := jqSet(t, mustRun(t, "", "dump", slot), c.field, c.value)
			files := snapshot(t, dir)
			code, _, errOut := runWith(edited, "import", slot)
			if code != exitFailed || !strings.Contains(errOut, c.want) || !strings.Contains(errOut, "-force") {
				t.Fatalf("exit %d, want %d, naming %q:\n%s", code, exitFailed, c.want, errOut)
			}
			if !sameFiles(files, snapshot(t, dir)) {
				t.Fatal("a refused import changed the store")
			}
			code, out, errOut := runWith(edited, "import", "-force", slot)
			if code != exitOK || !strings.Contains(out, "committed generation 3") || !strings.Contains(errOut, c.want) {
				t.Fatalf("-force: exit %d\n%s%s", code, out, errOut)
			}
			if strings.Contains(c.want, "removed") {
				return // loads, without the field's value
			}
			if _, err := loadAsGame(t, filepath.Join(dir, "quick.0.sav")); err == nil {
				t.Fatal("the game loads what import refused")
			}
		})
	}
}

// Added fields, longer and shorter arrays and other values of the same
// types are taken.
func TestImportTakesCompatibleChanges(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	doc := mustRun(t, "", "dump", slot)
	doc = jqSet(t, doc, "Level", "7")
	doc = jqSet(t, doc, "Items", `["sword", "key", "lamp"]`)
	doc = jqSet(t, doc, "Extra", `{"new": true}`)
	mustRun(t, doc, "import", slot)
	doc = jqSet(t, doc, "Items", `[]`)
	mustRun(t, doc, "import", slot)
	g, err := loadAsGame(t, filepath.Join(dir, "quick.1.sav"))
	if err != nil || g.Level != 7 || len(g.Items) != 0 {
		t.Fatalf("the game loads %+v, %v", g, err)
	}
}

// import FILE with -schema and -meta replaces the slot's schema and
// metadata; without a file it reads standard input.
func TestImportFromAFileWithSchemaAndMeta(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	bodyFile, metaFile := filepath.Join(t.TempDir(), "body.json"), filepath.Join(t.TempDir(), "meta.json")
	os.WriteFile(bodyFile, []byte(mustRun(t, "", "dump", slot)), 0o600)
	os.WriteFile(metaFile, []byte(`{"title": "Modded", "level": 9}`), 0o600)
	mustRun(t, "", "import", slot, bodyFile, "-schema", "5", "-meta", metaFile)
	if s := listed(t, dir, "quick"); s.Schema != 5 || s.Generation != 3 {
		t.Fatalf("after import: %+v, want schema 5, generation 3", s)
	}
	if meta := compact(t, mustRun(t, "", "dump", "-meta", slot)); meta != `{"level":9,"title":"Modded"}` {
		t.Fatalf("metadata %s", meta)
	}
	// The next import keeps what this one set.
	mustRun(t, "", "import", slot, bodyFile)
	if s := listed(t, dir, "quick"); s.Schema != 5 || s.Generation != 4 {
		t.Fatalf("after a second import: %+v", s)
	}
}

// A slot without a save takes any body; -schema says its schema.
func TestImportIntoANewSlot(t *testing.T) {
	dir := goodStoreCopy(t)
	out := mustRun(t, `{"Level": 1}`, "import", filepath.Join(dir, "fresh"), "-schema", "2")
	if out != "fresh: committed generation 1 (a new slot)\n" {
		t.Fatalf("import said %q", out)
	}
	if s := listed(t, dir, "fresh"); s.Schema != 2 || s.Generation != 1 {
		t.Fatalf("%+v", s)
	}
}

// What import refuses, with the status it exits with; none writes.
func TestImportFailures(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	doc := mustRun(t, "", "dump", slot)
	missing := filepath.Join(t.TempDir(), "typo")
	files := snapshot(t, dir)
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"no arguments", "", []string{"import"}, exitUsage, "want 1 to 2 argument(s), got 0"},
		{"three arguments", "", []string{"import", slot, "a.json", "b.json"}, exitUsage, "got 3"},
		{"a directory", doc, []string{"import", dir}, exitUsage, "give DIR/SLOT"},
		{"invalid JSON", "{", []string{"import", slot}, exitFailed, "standard input"},
		{"a missing file", "", []string{"import", slot, filepath.Join(dir, "nope.json")}, exitFailed, "nope.json"},
		{"body and metadata both from standard input", doc, []string{"import", slot, "-meta", "-"}, exitUsage, "both be standard input"},
		{"a missing store", doc, []string{"import", filepath.Join(missing, "quick")}, exitFailed, "typo"},
		{"a bad -schema", doc, []string{"import", slot, "-schema", "x"}, exitUsage, "-schema"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := runWith(c.stdin, c.args...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, want %d, saying %q:\n%s", code, c.code, c.want, errOut)
			}
		})
	}
	if !sameFiles(files, snapshot(t, dir)) {
		t.Fatal("a failed import changed the store")
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("import made the mistyped store (%v)", err)
	}
}

// While a game holds the store, import says so and writes nothing.
func TestImportWhileTheGameRuns(t *testing.T) {
	dir := goodStoreCopy(t)
	slot := filepath.Join(dir, "quick")
	doc := mustRun(t, "", "dump", slot)
	game, err := slots.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer game.Close()
	code, _, errOut := runWith(doc, "import", slot)
	if code != exitFailed || !strings.Contains(errOut, "is open in a game") || !strings.Contains(errOut, "then import") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if f, info, err := game.LoadFunc("quick", typeBlind); err != nil || info.Generation != 2 || f == nil {
		t.Fatalf("the game's save: generation %d, %v", info.Generation, err)
	}
}

// edit cannot take its metadata from standard input, which the editor
// reads: a usage error, before anything is opened.
func TestEditMetaFromStandardInputIsRefused(t *testing.T) {
	dir := goodStoreCopy(t)
	t.Setenv("EDITOR", "true")
	code, _, errOut := runWith(`{"title": "x"}`, "edit", "-meta", "-", filepath.Join(dir, "quick"))
	if code != exitUsage || !strings.Contains(errOut, "the editor reads it") {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, errOut)
	}
}
