package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/format/msgjson"
)

// TestTypeChanges checks the rule edit and import apply, case by case,
// and where a case names the game's type, that the rule agrees with the
// game's typed Load: a body the rule accepts decodes into that type, and
// one it refuses for a changed type does not.
func TestTypeChanges(t *testing.T) {
	when := time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)
	type (
		score   struct{ Score int }
		level   struct{ Level int }
		speed   struct{ Speed float32 }
		dist    struct{ Dist float64 }
		items   struct{ Items []string }
		colour  struct{ C [4]uint8 }
		stamped struct{ T time.Time }
		player  struct{ P struct{ HP int } }
	)
	cases := []struct {
		name     string
		old, new any
		want     []string
		game     any // the game's type, when the case says something of it
	}{
		{"integer widths do not count", map[string]any{"Score": 5000}, map[string]any{"Score": 7}, nil, score{}},
		{"negative into a once positive integer", map[string]any{"Score": uint64(5000)}, map[string]any{"Score": -1}, nil, score{}},
		{"integer to string", map[string]any{"Score": 5000}, map[string]any{"Score": "lots"}, []string{".Score: was integer, now string"}, score{}},
		{"integer to float", map[string]any{"Level": 3}, map[string]any{"Level": 2.5}, []string{".Level: was integer, now float64"}, level{}},
		{"integer into a float32", map[string]any{"Speed": float32(4)}, map[string]any{"Speed": 5}, nil, speed{}},
		{"float64 into a float32", map[string]any{"Speed": float32(4)}, map[string]any{"Speed": 4.5},
			[]string{`.Speed: was float32, now float64 (write {"$float32": ...} to keep it a float32)`}, speed{}},
		{"float32 into a float64", map[string]any{"Dist": 1.5}, map[string]any{"Dist": float32(2)}, nil, dist{}},
		{"string into binary", map[string]any{"C": []byte{1, 2, 3, 4}}, map[string]any{"C": "abcd"}, nil, colour{}},
		{"time to string", map[string]any{"T": when}, map[string]any{"T": "2026-11-21"}, []string{".T: was time, now string"}, stamped{}},
		{"time kept", map[string]any{"T": when}, map[string]any{"T": when.Add(time.Hour)}, nil, stamped{}},
		{"nested", map[string]any{"P": map[string]any{"HP": 87}}, map[string]any{"P": map[string]any{"HP": "full"}}, []string{".P.HP: was integer, now string"}, player{}},
		{"array shrinks", map[string]any{"Items": []string{"a", "b"}}, map[string]any{"Items": []string{"a"}}, nil, items{}},
		{"array grows", map[string]any{"Items": []string{"a", "b"}}, map[string]any{"Items": []string{"a", "b", "c"}}, nil, items{}},
		{"array grows with the wrong type", map[string]any{"Items": []string{"a", "b"}}, map[string]any{"Items": []any{"a", "b", 5}},
			[]string{".Items[2]: was string, now integer"}, items{}},
		{"an empty array says nothing of its elements", map[string]any{"Items": []string{}}, map[string]any{"Items": []any{5}}, nil, nil},
		{"field added", map[string]any{"A": 1}, map[string]any{"A": 1, "B": 2}, nil, nil},
		{"field removed", map[string]any{"A": 1, "B": 2}, map[string]any{"A": 1}, []string{".B: removed (it was integer)"}, nil},
		{"a field with an odd name removed", map[string]any{"a b": 1}, map[string]any{}, []string{`."a b": removed (it was integer)`}, nil},
		{"null in the old save takes anything", map[string]any{"T": nil}, map[string]any{"T": "x"}, nil, nil},
		{"null where the old save had a value", map[string]any{"T": when}, map[string]any{"T": nil}, []string{".T: was time, now null"}, nil},
		{"null where the old save had a null too", map[string]any{"E": []any{nil, 1}}, map[string]any{"E": []any{2, nil}}, nil, nil},
		{"the whole body", map[string]any{"A": 1}, []int{1}, []string{".: was object, now array"}, nil},
		{"optional fields of slice elements", map[string]any{"E": []any{map[string]any{"A": 1, "B": 2}, map[string]any{"A": 3}}},
			map[string]any{"E": []any{map[string]any{"A": 3}}}, nil, nil},
		{"a field every element had", map[string]any{"E": []any{map[string]any{"A": 1, "B": 2}, map[string]any{"A": 3}}},
			map[string]any{"E": []any{map[string]any{"B": 2}}}, []string{".E[0].A: removed (it was integer)"}, nil},
		{"elements of mixed kinds (an interface) take anything", map[string]any{"X": []any{1, "a"}}, map[string]any{"X": []any{true, 2.5}}, nil, nil},
		{"integer keys", map[int]string{3: "a", 7: "b"}, map[int]string{3: "a", 9: "c"}, []string{".[7]: removed (it was string)"}, nil},
		{"integer keys of any width", map[int64]string{3: "a"}, map[int8]string{3: "b"}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			oldBody, err := format.MarshalBody(c.old)
			if err != nil {
				t.Fatal(err)
			}
			newBody, err := format.MarshalBody(c.new)
			if err != nil {
				t.Fatal(err)
			}
			newBody, changes, err := checkBody(oldBody, newBody)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ch := range changes {
				got = append(got, ch.String())
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("changes %q, want %q", got, c.want)
			}
			if c.game == nil {
				return
			}
			err = decodeAs(t, newBody, reflect.TypeOf(c.game))
			if len(c.want) == 0 && err != nil {
				t.Fatalf("the check accepts a body the game's Load refuses: %v", err)
			}
			if len(c.want) > 0 && err == nil {
				t.Fatalf("the check refuses a body the game's Load takes")
			}
		})
	}
}

// decodeAs decodes body into a new value of typ as the game's Load does,
// through a real save file.
func decodeAs(t *testing.T, body []byte, typ reflect.Type) error {
	t.Helper()
	b, _, err := format.Marshal(format.Params{Schema: 1}, msgpack.RawMessage(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := format.Parse(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f.Decode(reflect.New(typ).Interface())
}

// Changes beyond the first are all listed, in the old save's order.
func TestTypeChangesListsEveryChange(t *testing.T) {
	oldBody, _ := format.MarshalBody(struct {
		A, B int
		C    string
	}{1, 2, "c"})
	newBody, _ := format.MarshalBody(map[string]any{"A": "a", "C": 3})
	_, changes, err := checkBody(oldBody, newBody)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(changes)
	want := "[.A: was integer, now string .C: was string, now integer .B: removed (it was integer)]"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

// An integer where the save had a float is written as that float, as the
// game would write it: jq prints 2.0 as 2, and the save keeps its types.
func TestIntegersWhereFloatsWereStayFloats(t *testing.T) {
	oldBody, _ := format.MarshalBody(map[string]any{"Speed": float32(4), "Pos": []float64{1.5, -2}, "N": 3, "Big": 0.5})
	newBody, err := msgjson.FromJSON(strings.NewReader(`{"Speed": 5, "Pos": [-2, 7, 2.5], "N": 4, "Big": 18446744073709551615}`))
	if err != nil {
		t.Fatal(err)
	}
	body, changes, err := checkBody(oldBody, newBody)
	if err != nil || len(changes) != 0 {
		t.Fatalf("changes %v, %v", changes, err)
	}
	var out bytes.Buffer
	if err := msgjson.ToJSON(&out, body); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	json.Compact(&got, out.Bytes())
	want := `{"Speed":{"$float32":5.0},"Pos":[-2.0,7.0,2.5],"N":4,"Big":1.8446744073709552e+19}`
	if got.String() != want {
		t.Fatalf("got  %s\nwant %s", got.String(), want)
	}
}
