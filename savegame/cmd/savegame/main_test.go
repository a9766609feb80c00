package main

import (
	"bytes"
	"flag"
	"fmt"
	"github.com/savekit/savekit/format"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/savekit/savekit/slots"
)

// Regenerate with: go test ./savegame/cmd/savegame -update
var update = flag.Bool("update", false, "rewrite the test stores and golden outputs in testdata/")

type body struct {
	Level  int
	Player map[string]any
	Items  []string
	Score  float32
}

var created = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

// makeStores writes the test stores: a good one, and one for each kind of
// damage support sees.
func makeStores(t *testing.T, root string) {
	os.RemoveAll(root)
	mk := func(name string, schema uint32, saves int) string {
		dir := filepath.Join(root, name)
		s, err := slots.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= saves; i++ {
			b := body{Level: i, Player: map[string]any{"name": "Ada", "hp": 87, "pos": []any{1.5, -2.0}}, Items: []string{"sword", "key"}, Score: float32(i) * 100}
			meta := map[string]any{"title": fmt.Sprintf("Cave, level %d", i), "play_time": 600.5 * float64(i), "thumb": []byte{1, 2, 3}}
			if _, err := s.Commit("quick", format.EncodeFunc(format.Params{Schema: schema, Created: created.Add(time.Duration(i) * time.Minute), Meta: meta}, b, nil)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Commit("other", format.EncodeFunc(format.Params{Schema: schema, Created: created}, body{Level: 9}, nil)); err != nil {
			t.Fatal(err)
		}
		s.Close()
		os.Remove(filepath.Join(dir, ".lock"))
		return dir
	}
	mk("good", 1, 2)
	// Generation 2 is in quick.1.sav: tear its tail.
	torn := mk("torn", 1, 2)
	p := filepath.Join(torn, "quick.1.sav")
	b, _ := os.ReadFile(p)
	copy(b[len(b)-24:], make([]byte, 24))
	os.WriteFile(p, b, 0o600)
	nop := mk("nopointer", 1, 2)
	os.Remove(filepath.Join(nop, "quick.ptr"))
	bad := mk("badmagic", 1, 1)
	p = filepath.Join(bad, "quick.0.sav")
	b, _ = os.ReadFile(p)
	copy(b, "NOTASAVE")
	os.WriteFile(p, b, 0o600)
	trunc := mk("truncated", 1, 1)
	p = filepath.Join(trunc, "quick.0.sav")
	b, _ = os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o600)
	mk("newer", 7, 1)
}

func copyDir(t *testing.T, from, to string) {
	os.MkdirAll(to, 0o700)
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(from, e.Name()))
		os.WriteFile(filepath.Join(to, e.Name()), b, 0o600)
	}
}

type goldenCase struct {
	name  string
	store string   // copied to a temporary STORE first
	args  []string // STORE is replaced by the copy's path
	code  int
	env   map[string]string
	lock  bool // hold the store's lock during the command, as a running game does
}

func TestGolden(t *testing.T) {
	stores := filepath.Join("testdata", "stores")
	if *update {
		makeStores(t, stores)
	}
	editor, _ := filepath.Abs(filepath.Join("testdata", "edit-score.sh"))
	cases := []goldenCase{
		{"list", "good", []string{"list", "STORE"}, 0, nil, false},
		{"list-json", "good", []string{"list", "-json", "STORE"}, 0, nil, false},
		{"list-while-game-runs", "good", []string{"list", "STORE"}, 0, nil, true},
		{"inspect-slot", "good", []string{"inspect", "STORE/quick"}, 0, nil, false},
		{"inspect-file", "good", []string{"inspect", "STORE/quick.1.sav"}, 0, nil, false},
		{"inspect-pointer", "good", []string{"inspect", "STORE/quick.ptr"}, 0, nil, false},
		{"inspect-json", "good", []string{"inspect", "-json", "STORE/quick"}, 0, nil, false},
		{"verify", "good", []string{"verify", "STORE"}, 0, nil, false},
		{"dump", "good", []string{"dump", "STORE/quick"}, 0, nil, false},
		{"dump-meta", "good", []string{"dump", "STORE/quick", "-meta"}, 0, nil, false},
		{"unpack", "good", []string{"unpack", "STORE/quick.1.sav"}, 0, nil, false},
		{"edit", "good", []string{"edit", "STORE/quick"}, 0, map[string]string{"EDITOR": editor}, false},
		{"edit-while-game-runs", "good", []string{"edit", "STORE/quick"}, 3, map[string]string{"EDITOR": editor}, true},
		{"repair-nothing", "good", []string{"repair", "STORE"}, 0, nil, false},
		{"torn-list", "torn", []string{"list", "STORE"}, 0, nil, false},
		{"torn-inspect", "torn", []string{"inspect", "STORE/quick"}, 1, nil, false},
		{"torn-inspect-file", "torn", []string{"inspect", "STORE/quick.1.sav"}, 1, nil, false},
		{"torn-verify", "torn", []string{"verify", "STORE"}, 0, nil, false},
		{"torn-repair", "torn", []string{"repair", "STORE"}, 0, nil, false},
		{"nopointer-list", "nopointer", []string{"list", "STORE"}, 0, nil, false},
		{"nopointer-inspect", "nopointer", []string{"inspect", "STORE/quick"}, 1, nil, false},
		{"nopointer-repair", "nopointer", []string{"repair", "STORE"}, 0, nil, false},
		{"badmagic-verify", "badmagic", []string{"verify", "STORE"}, 1, nil, false},
		{"badmagic-inspect-file", "badmagic", []string{"inspect", "STORE/quick.0.sav"}, 1, nil, false},
		{"badmagic-dump", "badmagic", []string{"dump", "STORE/quick"}, 3, nil, false},
		{"truncated-verify-json", "truncated", []string{"verify", "-json", "STORE"}, 1, nil, false},
		{"truncated-inspect-file", "truncated", []string{"inspect", "STORE/quick.0.sav"}, 1, nil, false},
		{"newer-list", "newer", []string{"list", "STORE"}, 0, nil, false},
		{"usage", "good", []string{"dump"}, 2, nil, false},
		{"unknown", "good", []string{"frobnicate"}, 2, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			copyDir(t, filepath.Join(stores, c.store), dir)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			if c.lock {
				s, err := slots.Open(dir, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
			}
			args := make([]string, len(c.args))
			for i, a := range c.args {
				args[i] = strings.ReplaceAll(a, "STORE", dir)
			}
			var stdout, stderr bytes.Buffer
			code := run(args, strings.NewReader(""), &stdout, &stderr)
			got := fmt.Sprintf("$ savegame %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(c.args, " "), code, stdout.String(), stderr.String())
			got = strings.ReplaceAll(got, dir, "STORE")
			if c.name == "edit" {
				// The edit is real: the committed save holds it.
				var after bytes.Buffer
				run([]string{"dump", filepath.Join(dir, "quick")}, nil, &after, &stderr)
				if !strings.Contains(after.String(), `"Score": {"$float32": 12345.0}`) {
					t.Fatalf("the edit did not reach the save:\n%s", after.String())
				}
			}
			path := filepath.Join("testdata", "golden", c.name+".txt")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, []byte(got), 0o644)
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", path, got, want)
			}
			if code != c.code {
				t.Errorf("exit %d, want %d", code, c.code)
			}
		})
	}
}

// TestPackUnpackRoundTrip: a save unpacked and packed again with the same
// header fields is the same file, byte for byte.
func TestPackUnpackRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("testdata", "stores", "good", "quick.1.sav")
	var out, errb bytes.Buffer
	jsonPath := filepath.Join(dir, "body.json")
	metaPath := filepath.Join(dir, "meta.json")
	if code := run([]string{"unpack", src, "-o", jsonPath}, nil, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	if code := run([]string{"unpack", src, "-meta", "-o", metaPath}, nil, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	packed := filepath.Join(dir, "re.sav")
	if code := run([]string{"pack", jsonPath, "-o", packed, "-schema", "1", "-generation", "2", "-meta", metaPath, "-created", "2026-11-21T10:32:00Z"}, nil, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	a, _ := os.ReadFile(src)
	b, _ := os.ReadFile(packed)
	if !bytes.Equal(a, b) {
		t.Fatalf("unpack then pack changed the file (%d vs %d bytes)", len(a), len(b))
	}
}
