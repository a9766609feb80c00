package format

import (
	"bytes"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"
)

// Regenerate with: go test ./format -run 'TestGolden|TestFuzzSeeds' -update
var update = flag.Bool("update", false, "rewrite golden files and fuzz seeds in testdata/")

// goldenPlayer and goldenWorld are the fixed input of the worked example in
// docs/format.md.
type goldenPlayer struct {
	Name string  `msgpack:"name"`
	X    float32 `msgpack:"x"`
	Y    float32 `msgpack:"y"`
}

type goldenWorld struct {
	Player goldenPlayer `msgpack:"player"`
	Score  int64        `msgpack:"score"`
	Items  []string     `msgpack:"items"`
}

var goldenCreated = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

type goldenCase struct {
	name   string
	params Params
	body   any
	decode func(f *File) (any, error) // decodes the file back for comparison
}

func goldenCases() []goldenCase {
	small := goldenWorld{Player: goldenPlayer{Name: "Ada", X: 1.5, Y: -2}, Score: 1200, Items: []string{"sword", "key"}}
	types := map[string]any{
		"i8": int8(-5), "u16": uint16(60000), "i64": int64(-1 << 40), "u64": uint64(1 << 63),
		"f32": float32(0.25), "f64": 3.5, "bin": []byte{0xde, 0xad}, "nil": nil, "yes": true,
		"list": []any{"a", int64(1), false}, "when": time.Date(2030, 1, 2, 3, 4, 5, 600, time.UTC),
		"nested": map[string]any{"deep": map[string]any{"deeper": []any{}}},
	}
	return []goldenCase{
		{"small", Params{Schema: 2, Generation: 7, Created: goldenCreated,
			Meta: map[string]any{"title": "Cave of Echoes", "level": 3, "playtime_s": 5025}}, small,
			func(f *File) (any, error) { var w goldenWorld; err := f.Decode(&w); return w, err }},
		{"empty", Params{Schema: 0, Generation: 1, Created: goldenCreated}, nil,
			func(f *File) (any, error) { var v any; err := f.Decode(&v); return v, err }},
		{"types", Params{Schema: 1, Generation: 1 << 40, Created: goldenCreated,
			Meta: map[string]any{"thumb": bytes.Repeat([]byte{0x7f}, 40)}}, types,
			func(f *File) (any, error) {
				v, err := f.DecodeGeneric()
				if m, ok := v.(map[string]any); ok {
					if w, ok := m["when"].(time.Time); ok {
						m["when"] = w.UTC() // decoded in local time
					}
					// A compact int decodes at the width it was written
					// in: 1 as int8.
					if l, ok := m["list"].([]any); ok && len(l) == 3 {
						if i, ok := l[1].(int8); ok {
							l[1] = int64(i)
						}
					}
				}
				return v, err
			}},
	}
}

// TestGolden fails when the bytes the writer produces for a fixed input
// change: the format never changes silently.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			got, _, err := Marshal(c.params, c.body, nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", c.name+".sav")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (regenerate with -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: the writer's bytes changed (first difference at offset %d); if intended, bump the container version or regenerate with -update and document it", path, firstDiff(got, want))
			}
			// The golden file also reads back to its input.
			f, err := Parse(want, nil)
			if err != nil {
				t.Fatal(err)
			}
			back, err := c.decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c.body) {
				t.Fatalf("decoded %v, want %v", back, c.body)
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// fuzzSeeds are the seed inputs of the fuzz targets: the golden files,
// damaged copies of them, and the hostile bodies in valid containers.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, c := range goldenCases() {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", c.name+".sav"))
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, b, b[:len(b)-1], b[:HeaderSize])
	}
	hostile := hostileBodies()
	for _, name := range slices.Sorted(maps.Keys(hostile)) {
		if body := hostile[name]; len(body) < 64 {
			seeds = append(seeds, rawFile([]byte{0x80}, body))
		}
	}
	return seeds
}

// TestFuzzSeeds keeps the committed seed corpus in testdata/fuzz in step
// with fuzzSeeds.
func TestFuzzSeeds(t *testing.T) {
	for _, target := range []string{"FuzzParseHeader", "FuzzParseDecode", "FuzzValidate"} {
		dir := filepath.Join("testdata", "fuzz", target)
		for i, s := range fuzzSeeds(t) {
			if target == "FuzzValidate" && len(s) > HeaderSize {
				s = s[HeaderSize:] // the validator's input is a msgpack document
			}
			path := filepath.Join(dir, "seed-"+strconv.Itoa(i))
			content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(s)) + ")\n"
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != content {
				t.Fatalf("%s is missing or stale (regenerate with -update)", path)
			}
		}
	}
}
