package msgjson

import (
	"bytes"
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
	r := &reader{b: doc}
	var out bytes.Buffer
	if err := r.value(&out, 0, ""); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), `"a"`); got != depth {
		t.Fatalf("%d keys, want %d", got, depth)
	}
	if limit := depth * depth * 2; r.values > limit {
		t.Fatalf("%d value steps for %d nested maps, more than %d", r.values, depth, limit)
	}
	t.Logf("%d value steps", r.values)
}
