package msgjson

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// TestNestedMapsAreLinear: deciding a map's JSON form looks ahead over its
// values once, not once per enclosing map, so a document of d nested maps
// costs about d²/2 value steps, where it used to cost 2^d.
func TestNestedMapsAreLinear(t *testing.T) {
	const depth = 200
	var doc []byte
	for range depth {
		doc = append(doc, 0x81, 0xa1, 'a') // {"a": ...
	}
	doc = append(doc, 0x01)
	r := &reader{b: doc, discard: bufio.NewWriter(io.Discard)}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := r.value(w, 0); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if got := strings.Count(out.String(), `"a"`); got != depth {
		t.Fatalf("%d keys, want %d", got, depth)
	}
	if limit := depth * depth * 2; r.values > limit {
		t.Fatalf("%d value steps for %d nested maps, more than %d", r.values, depth, limit)
	}
	t.Logf("%d value steps", r.values)
}

// TestStringsEscapeAsEncodingJSON: ToJSON's own string escaping matches
// encoding/json's (without HTML escaping) byte for byte.
func TestStringsEscapeAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\s`, "\x00\x01\x1f\x7f", "\b\f\n\r\t", "<&>", "\u2028\u2029é😀", "a\u2028b"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		writeJSONString(w, []byte(s))
		w.Flush()
		if got.String() != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("%q: got %s, encoding/json %s", s, got.String(), want.String())
		}
	}
}
