package format

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// genericCases are values whose maps have keys of every kind the writer
// writes, with what a type-blind decode gives back for each.
var genericCases = []struct {
	name string
	in   any
	want any
}{
	{"int keys", map[int]int{1: 2, -3: 400}, map[any]any{int8(1): int8(2), int8(-3): uint16(400)}},
	{"uint keys", map[uint]string{300: "a", 7: "b"}, map[any]any{uint16(300): "a", int8(7): "b"}},
	{"bool keys", map[bool]int{true: 1, false: 0}, map[any]any{true: int8(1), false: int8(0)}},
	{"float keys", map[float64]string{1.5: "x"}, map[any]any{1.5: "x"}},
	{"float32 keys", map[float32]bool{2.5: true}, map[any]any{float32(2.5): true}},
	{"string keys", map[string]int{"a": 1}, map[string]any{"a": int8(1)}},
	{"binary keys", map[[2]byte]int{{1, 2}: 3}, map[string]any{"\x01\x02": int8(3)}},
	{"mixed keys", map[any]any{"a": 1, 2: "b", true: nil}, map[any]any{"a": int8(1), int8(2): "b", true: nil}},
	{"nested", map[string]any{"scores": map[int]int{1: 2}, "l": []any{map[int8]string{-1: "m"}}},
		map[string]any{"scores": map[any]any{int8(1): int8(2)}, "l": []any{map[any]any{int8(-1): "m"}}}},
	{"int keys holding int keys", map[int]map[uint8]bool{5: {200: true}}, map[any]any{int8(5): map[any]any{uint8(200): true}}},
	{"empty", map[int]int{}, map[string]any{}},
}

// TestGenericDecodeReadsEveryKey: Marshal, Parse, then each type-blind
// decode (DecodeMeta, DecodeGeneric, Decode into any, and an interface
// field of a typed value) gives the expected maps, in metadata and body.
func TestGenericDecodeReadsEveryKey(t *testing.T) {
	type holder struct{ V any }
	for _, c := range genericCases {
		t.Run(c.name, func(t *testing.T) {
			meta := map[string]any{"k": c.in}
			if err := checkMeta(meta, nil); err != nil {
				t.Fatalf("checkMeta: %v", err)
			}
			b, _, err := Marshal(Params{Meta: meta}, c.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse(b, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := f.DecodeMeta()
			if err != nil {
				t.Fatalf("DecodeMeta: %v", err)
			}
			if !reflect.DeepEqual(m, map[string]any{"k": c.want}) {
				t.Errorf("DecodeMeta: %#v, want %#v", m["k"], c.want)
			}
			g, err := f.DecodeGeneric()
			if err != nil || !reflect.DeepEqual(g, c.want) {
				t.Errorf("DecodeGeneric: %#v, %v; want %#v", g, err, c.want)
			}
			var v any
			if err := f.Decode(&v); err != nil || !reflect.DeepEqual(v, c.want) {
				t.Errorf("Decode(&any): %#v, %v; want %#v", v, err, c.want)
			}
			hb, _, err := Marshal(Params{}, holder{V: c.in}, nil)
			if err != nil {
				t.Fatal(err)
			}
			hf, err := Parse(hb, nil)
			if err != nil {
				t.Fatal(err)
			}
			var h holder
			if err := hf.Decode(&h); err != nil || !reflect.DeepEqual(h.V, c.want) {
				t.Errorf("Decode into an interface field: %#v, %v; want %#v", h.V, err, c.want)
			}
			if err := CheckGeneric(hb[hf.Header.BodyOffset():]); err != nil {
				t.Errorf("CheckGeneric: %v", err)
			}
		})
	}
}

// TestGenericDecodeRefusesContainerKeys: msgpack lets a key be an array
// or a map (the encoding of map[[2]int]T); Go cannot hold it in a map
// without the type. The reader says where; the writer refuses such
// metadata with the same error, and CheckGeneric finds it in a body.
func TestGenericDecodeRefusesContainerKeys(t *testing.T) {
	meta := map[string]any{"a": []any{1, map[string]any{"scores": map[[2]int]int{{1, 2}: 3}}}}
	const where = "in the map at a[1].scores"
	err := checkMeta(meta, nil)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), where) || !strings.Contains(err.Error(), "is an array") {
		t.Fatalf("checkMeta: %v", err)
	}
	if _, _, err2 := Marshal(Params{Meta: meta}, 1, nil); err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("Marshal: %v, want the error of checkMeta, %v", err2, err)
	}
	body, err := MarshalBody(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckGeneric(body); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), where) {
		t.Fatalf("CheckGeneric: %v", err)
	}
	// The typed writer may write it; the reader refuses it generically
	// with the same words, and a typed decode still reads it.
	b, _, err := Marshal(Params{}, meta, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.DecodeGeneric(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), where) {
		t.Fatalf("DecodeGeneric: %v", err)
	}
	var v any
	if err := f.Decode(&v); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), where) {
		t.Fatalf("Decode(&any): %v", err)
	}
	// Metadata written by hand with such a key fails DecodeMeta the same way.
	mb, _ := MarshalBody(map[string]any{"x": map[[1]int]int{{7}: 1}})
	raw := rawFile(mb, []byte{0xc0})
	rf, err := Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rf.DecodeMeta(); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "in the map at x") {
		t.Fatalf("DecodeMeta: %v", err)
	}
	mapKey := []byte{0x81, 0x81, 0xa0, 0xc0, 0x01} // {{"": nil}: 1}
	if err := CheckGeneric(mapKey); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "at the top level is a map") {
		t.Fatalf("CheckGeneric of a map key: %v", err)
	}
}
