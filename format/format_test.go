package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zeebo/xxh3"
)

func TestRoundTrip(t *testing.T) {
	w := makeWorld(1, 64<<10)
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	meta := map[string]any{"title": "Cave", "level": int64(3), "thumb": []byte{1, 2, 3}}
	b, h, err := Marshal(Params{Schema: 7, Generation: 42, Created: created, Meta: meta}, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	if h.Size() != int64(len(b)) {
		t.Fatalf("header size %d, file %d", h.Size(), len(b))
	}
	f, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Header != h {
		t.Fatalf("parsed header %+v\nwritten %+v", f.Header, h)
	}
	if f.Header.Schema != 7 || f.Header.Generation != 42 || !f.Header.Created.Equal(created) {
		t.Fatalf("header fields: %+v", f.Header)
	}
	var got testWorld
	if err := f.Decode(&got); err != nil {
		t.Fatal(err)
	}
	got.Started = got.Started.UTC() // msgpack decodes times in time.Local
	if !reflect.DeepEqual(&got, w) {
		t.Fatal("decoded world differs from the saved one")
	}
	m, err := f.DecodeMeta()
	if err != nil {
		t.Fatal(err)
	}
	if m["title"] != "Cave" || !bytes.Equal(m["thumb"].([]byte), []byte{1, 2, 3}) {
		t.Fatalf("meta %v", m)
	}
	// Read and Verify on an io.ReaderAt agree with Parse.
	r := bytes.NewReader(b)
	if f2, err := Read(r, int64(len(b)), nil); err != nil || f2.Header != h {
		t.Fatalf("Read: %v", err)
	}
	if h2, err := Verify(r, int64(len(b)), nil); err != nil || h2 != h {
		t.Fatalf("Verify: %v", err)
	}
	h3, m3, err := ReadMeta(r, int64(len(b)), nil)
	if err != nil || h3 != h || m3["title"] != "Cave" {
		t.Fatalf("ReadMeta: %v %v", err, m3)
	}
	if h4, err := ReadHeader(r); err != nil || h4 != h {
		t.Fatalf("ReadHeader: %v", err)
	}
}

// sortableWorld is a world whose maps are all of the types msgpack sorts
// (map[string]string, map[string]bool, map[string]any), so its encoding is
// byte-for-byte deterministic.
func sortableWorld(seed uint64, size int) *testWorld {
	w := makeWorld(seed, size)
	for i := range w.Entities {
		w.Entities[i].Stats = nil
	}
	return w
}

func TestDeterministic(t *testing.T) {
	w := sortableWorld(3, 32<<10)
	p := Params{Generation: 1, Created: time.Unix(5, 0), Meta: map[string]any{"b": 1, "a": 2, "c": 3}}
	a, _, err := Marshal(p, w, nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, _, err := Marshal(p, w, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Fatal("the same input encoded to different bytes")
		}
	}
}

// TestDamage flips, truncates and extends a valid file and checks each
// damage is reported with the right sentinel.
func TestDamage(t *testing.T) {
	good, h, err := Marshal(Params{Generation: 9, Meta: map[string]any{"t": "x"}}, makeWorld(4, 8<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	cases := []struct {
		name  string
		file  []byte
		want  error
		field string
	}{
		{"empty", nil, ErrTruncated, "header"},
		{"bad magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), ErrNotSave, "magic"},
		{"magic only", good[:8], ErrTruncated, "header"},
		{"half header", good[:40], ErrTruncated, "header"},
		{"version 2", edit(func(b []byte) []byte { b[offVersion] = 2; fixHeaderSum(b); return b }), ErrVersion, "version"},
		{"unknown flag", edit(func(b []byte) []byte { b[offFlags] = 1; fixHeaderSum(b); return b }), ErrVersion, "flags"},
		{"header length over the maximum", edit(func(b []byte) []byte { b[offHeaderLen+1] = 0x30; return b }), ErrMalformed, "header length"},
		{"odd header length", edit(func(b []byte) []byte { b[offHeaderLen] = 81; return b }), ErrMalformed, "header length"},
		{"header bit flip", edit(func(b []byte) []byte { b[offGeneration] ^= 1; return b }), ErrChecksum, "header checksum"},
		{"body bit flip", edit(func(b []byte) []byte { b[len(b)-3] ^= 0x10; return b }), ErrChecksum, "payload checksum"},
		{"meta bit flip", edit(func(b []byte) []byte { b[HeaderSize+1] ^= 0x10; return b }), ErrChecksum, "payload checksum"},
		{"truncated body", good[:len(good)-1], ErrTruncated, "file"},
		{"torn tail zeroed", edit(func(b []byte) []byte { clear(b[len(b)-600:]); return b }), ErrChecksum, "payload checksum"},
		{"trailing bytes", append(append([]byte(nil), good...), 0), ErrMalformed, "file"},
		{"body too large", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[offBodyLen:], 1<<40)
			fixHeaderSum(b)
			return b
		}), ErrTooLarge, "body length"},
		{"meta too large", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[offMetaLen:], 1<<30)
			fixHeaderSum(b)
			return b
		}), ErrTooLarge, "metadata length"},
		{"meta not a map", rawFile([]byte{0x91, 0x01}, []byte{0xc0}), ErrMalformed, "metadata"},
		{"body two values", rawFile([]byte{0x80}, []byte{0x01, 0x02}), ErrMalformed, "body"},
		{"body reserved code", rawFile([]byte{0x80}, []byte{0xc1}), ErrMalformed, "body"},
		{"body empty", rawFile([]byte{0x80}, nil), ErrMalformed, "body"},
		{"body custom ext", rawFile([]byte{0x80}, []byte{0xd4, 0x05, 0x00}), ErrMalformed, "body"},
		{"body bad timestamp length", rawFile([]byte{0x80}, []byte{0xd5, 0xff, 0, 0}), ErrMalformed, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, api := range []string{"Parse", "Read", "Verify"} {
				var err error
				switch api {
				case "Parse":
					_, err = Parse(c.file, nil)
				case "Read":
					_, err = Read(bytes.NewReader(c.file), int64(len(c.file)), nil)
				case "Verify":
					_, err = Verify(bytes.NewReader(c.file), int64(len(c.file)), nil)
				}
				if !errors.Is(err, c.want) {
					t.Fatalf("%s: got %v, want %v", api, err, c.want)
				}
				var fe *Error
				if !errors.As(err, &fe) || fe.Field != c.field {
					t.Fatalf("%s: error %q does not name field %q", api, err, c.field)
				}
				if !strings.Contains(err.Error(), c.field) {
					t.Fatalf("%s: message %q lacks field", api, err)
				}
			}
		})
	}
	_ = h
}

func TestReadMetaSkipsBody(t *testing.T) {
	b, _, err := Marshal(Params{Meta: map[string]any{"title": "ok"}}, makeWorld(5, 4<<10), nil)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0xff // damage the body only
	_, m, err := ReadMeta(bytes.NewReader(b), int64(len(b)), nil)
	if err != nil || m["title"] != "ok" {
		t.Fatalf("ReadMeta with a damaged body: %v %v", m, err)
	}
	if _, err := Parse(b, nil); !errors.Is(err, ErrChecksum) {
		t.Fatalf("Parse with a damaged body: %v", err)
	}
	b, _, _ = Marshal(Params{Meta: map[string]any{"title": "ok"}}, 1, nil)
	b[HeaderSize+2] ^= 0xff // damage the metadata
	if _, _, err := ReadMeta(bytes.NewReader(b), int64(len(b)), nil); !errors.Is(err, ErrChecksum) {
		t.Fatalf("ReadMeta with damaged metadata: %v", err)
	}
}

func TestLongerHeaderIsSkipped(t *testing.T) {
	// A later revision may append fields before the header checksum. A
	// version 1 reader must skip them.
	good, _, _ := Marshal(Params{Generation: 5, Meta: map[string]any{"k": "v"}}, "body", nil)
	const extra = 16
	b := make([]byte, 0, len(good)+extra)
	b = append(b, good[:HeaderSize-8]...)
	b = append(b, make([]byte, extra+8)...)
	b = append(b, good[HeaderSize:]...)
	binary.LittleEndian.PutUint16(b[offHeaderLen:], HeaderSize+extra)
	n := HeaderSize + extra - 8
	binary.LittleEndian.PutUint64(b[n:], xxh3.Hash(b[:n]))
	f, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s string
	if err := f.Decode(&s); err != nil || s != "body" || f.Header.Generation != 5 {
		t.Fatalf("got %q %v", s, err)
	}
	if _, err := ReadHeader(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func TestWriterEnforcesLimits(t *testing.T) {
	w := makeWorld(6, 64<<10)
	if _, _, err := Marshal(Params{}, w, &Limits{MaxBody: 1000}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("body over limit: %v", err)
	}
	if _, _, err := Marshal(Params{Meta: map[string]any{"x": strings.Repeat("a", 100)}}, 1, &Limits{MaxMeta: 50}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("meta over limit: %v", err)
	}
	deep := any(1)
	for range 20 {
		deep = []any{deep}
	}
	if _, _, err := Marshal(Params{}, deep, &Limits{MaxDepth: 10}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("nesting over limit: %v", err)
	}
	if _, _, err := Marshal(Params{}, deep, &Limits{MaxDepth: 20}); err != nil {
		t.Fatalf("nesting at limit: %v", err)
	}
	if _, _, err := Marshal(Params{}, make(chan int), nil); err == nil || !strings.Contains(err.Error(), "encode body") {
		t.Fatalf("unencodable body: %v", err)
	}
}

type failingWriterAt struct{ after int }

var errDisk = errors.New("disk on fire")

func (f *failingWriterAt) WriteAt(p []byte, off int64) (int, error) {
	if f.after <= 0 {
		return 0, errDisk
	}
	f.after--
	return len(p), nil
}

func TestEncodeReportsWriteErrors(t *testing.T) {
	w := makeWorld(7, 512<<10)
	for after := range 5 {
		_, err := Encode(&failingWriterAt{after: after}, Params{}, w, nil)
		if !errors.Is(err, errDisk) {
			t.Fatalf("write %d failing: got %v", after, err)
		}
	}
}

func TestDecodeGenericKeepsTypes(t *testing.T) {
	body := map[string]any{
		"i8":   int8(-3),
		"u64":  uint64(1 << 63),
		"f32":  float32(1.5),
		"f64":  2.25,
		"bin":  []byte{0, 1},
		"ints": map[int]string{1: "one", 2: "two"},
		"when": time.Unix(1700000000, 5).UTC(),
		"nil":  nil,
	}
	b, _, err := Marshal(Params{}, body, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.DecodeGeneric()
	if err != nil {
		t.Fatal(err)
	}
	m := g.(map[string]any)
	if _, ok := m["f32"].(float32); !ok {
		t.Errorf("f32 decoded as %T", m["f32"])
	}
	if v, ok := m["u64"].(uint64); !ok || v != 1<<63 {
		t.Errorf("u64 decoded as %T %v", m["u64"], m["u64"])
	}
	if km, ok := m["ints"].(map[any]any); !ok || len(km) != 2 {
		t.Errorf("int-keyed map decoded as %T", m["ints"])
	}
	if ts, ok := m["when"].(time.Time); !ok || !ts.Equal(body["when"].(time.Time)) {
		t.Errorf("time decoded as %T %v", m["when"], m["when"])
	}
}

// TestMakeWorldSize keeps the benchmark worlds honest: a world made for N
// bytes encodes to within 10% of N.
func TestMakeWorldSize(t *testing.T) {
	for _, size := range []int{64 << 10, 1 << 20} {
		_, h, err := Marshal(Params{}, makeWorld(uint64(size), size), nil)
		if err != nil {
			t.Fatal(err)
		}
		if r := float64(h.BodyLen) / float64(size); r < 0.9 || r > 1.1 {
			t.Errorf("world for %d bytes encodes to %d (%.2f)", size, h.BodyLen, r)
		}
	}
}
