package format

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/savekit/savekit/format/msgjson"
)

func array32(n int, elem []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdd}, uint32(n))
	return append(b, bytes.Repeat(elem, n)...)
}

func map32(n int, pair []byte) []byte {
	b := binary.BigEndian.AppendUint32([]byte{0xdf}, uint32(n))
	return append(b, bytes.Repeat(pair, n)...)
}

// allocTarget is a typed world with a field of each kind msgpack fills
// from a declared count.
type allocTarget struct {
	A  []any
	M  map[string]any
	S  []string
	MS map[string]string
	MI map[int]int
}

// allocShape is a hostile-but-valid body and the bounds, in bytes
// allocated per body byte, that docs/format.md states for decoding it.
type allocShape struct {
	name   string
	body   func(size int) []byte
	field  string  // the allocTarget field the shape is decoded into
	anyX   float64 // into any: Decode(&v) and DecodeGeneric
	typedX float64 // into allocTarget.field, by msgpack
}

var allocShapes = []allocShape{
	{"duplicate empty keys", func(n int) []byte { return map32(n/2, []byte{0xa0, 0xc0}) }, "M", 1, 41},
	{"duplicate keys to empty strings", func(n int) []byte { return map32(n/2, []byte{0xa0, 0xa0}) }, "MS", 1, 41},
	{"duplicate int keys", func(n int) []byte { return map32(n/2, []byte{0x01, 0x01}) }, "MI", 1, 27},
	{"nils", func(n int) []byte { return array32(n, []byte{0xc0}) }, "A", 16.5, 33},
	{"empty strings", func(n int) []byte { return array32(n, []byte{0xa0}) }, "S", 16.5, 84},
	{"empty arrays", func(n int) []byte { return array32(n, []byte{0x90}) }, "A", 16.5, 57},
	{"empty maps", func(n int) []byte { return array32(n, []byte{0x80}) }, "A", 65, 81},
	{"one-pair maps", func(n int) []byte { return array32(n/3, []byte{0x81, 0x01, 0xc0}) }, "A", 118, 124},
	{"nine-pair maps of one key", func(n int) []byte {
		return array32(n/19, append([]byte{0x89}, bytes.Repeat([]byte{0xa0, 0xc0}, 9)...))
	}, "A", 19, 20},
	{"one-pair maps holding an empty map", func(n int) []byte { return array32(n/3, []byte{0x81, 0xa0, 0x80}) }, "A", 134, 139.5},
	{"chains of one-pair maps", func(n int) []byte {
		return array32(n/251, append(bytes.Repeat([]byte{0x81, 0xa0}, 125), 0x80))
	}, "A", 168, 168.5},
	{"nested chains", func(n int) []byte {
		return array32(n/252, append(bytes.Repeat([]byte{0x91}, 250), 0x90))
	}, "A", 40.5, 41},
}

// allocSlack is the fixed amount each bound allows on top of its multiple.
const allocSlack = 1 << 20

// TestDecodeAllocationIsBounded decodes each hostile shape (a body
// that passes the validator) into any, into a typed world and through
// msgjson, and fails when the bytes allocated exceed the bound
// docs/format.md states for it. SAVEKIT_ALLOC_MIB sets the body size
// (default 2 MiB, enough to pass msgpack's 1e6-element preallocation cap).
func TestDecodeAllocationIsBounded(t *testing.T) {
	if raceEnabled {
		// The race detector changes what msgpack's reflection allocates
		// and makes each shape take seconds; CI runs this without it.
		t.Skip("allocation bounds are measured without -race")
	}
	size := 2 << 20
	if s := os.Getenv("SAVEKIT_ALLOC_MIB"); s != "" {
		mib, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		size = mib << 20
	}
	for _, sh := range allocShapes {
		t.Run(sh.name, func(t *testing.T) {
			body := sh.body(size)
			f, err := Parse(rawFile([]byte{0x80}, body), nil)
			if err != nil {
				t.Fatalf("the validator refused it: %v", err)
			}
			typedBody := append(append([]byte{0x81, 0xa0 | byte(len(sh.field))}, sh.field...), body...)
			tf, err := Parse(rawFile([]byte{0x80}, typedBody), nil)
			if err != nil {
				t.Fatalf("the validator refused it in a field: %v", err)
			}
			n := float64(len(body))
			check := func(path string, bound float64, decode func() error) {
				t.Helper()
				var err error
				grew := allocated(func() { err = decode() })
				if err != nil {
					t.Errorf("%s: %v", path, err)
				}
				t.Logf("%s: %.1f bytes allocated per body byte", path, float64(grew)/n)
				if limit := bound*n + allocSlack; float64(grew) > limit {
					t.Errorf("%s: allocated %d bytes for a %d-byte body, more than %.1fx + %d", path, grew, len(body), bound, allocSlack)
				}
			}
			check("Decode(&any)", sh.anyX, func() error { var v any; return f.Decode(&v) })
			check("DecodeGeneric", sh.anyX, func() error { _, err := f.DecodeGeneric(); return err })
			check(fmt.Sprintf("Decode(&T) into %s", sh.field), sh.typedX, func() error { var v allocTarget; return tf.Decode(&v) })
			check("msgjson.ToJSON", 0, func() error { return msgjson.ToJSON(io.Discard, f.Body) })
		})
	}
}
