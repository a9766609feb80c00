package snapshot

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

type ifaceLeaf struct {
	N    int
	Tags []string
	M    map[int]string
}

type ifaceNode struct {
	Name string
	Kids []any
	Ptr  *ifaceLeaf
}

type flatIface struct{ A, B int }

// ifaceShapes are values an `any` may hold, one of each shape msgpack can
// encode: maps of every key kind (the fast-cloned ones among them), slices
// and arrays of interfaces, pointers, structs by value, nil interfaces and
// nil maps.
func ifaceShapes() map[string]any {
	leaf := &ifaceLeaf{N: 1, Tags: []string{"a"}, M: map[int]string{1: "x"}}
	return map[string]any{
		"map[int]string":             map[int]string{1: "a", 2: "b"},
		"map[int]int":                map[int]int{1: 2},
		"map[string]int":             map[string]int{"a": 1},
		"map[string]string":          map[string]string{"a": "b"},
		"map[string]bool":            map[string]bool{"a": true},
		"map[int32]int32":            map[int32]int32{1: 2},
		"map[uint32]uint32":          map[uint32]uint32{1: 2},
		"map[string]float64":         map[string]float64{"a": 1.5},
		"map[int8]string":            map[int8]string{-1: "a"},
		"map[int16]int":              map[int16]int{2: 3},
		"map[int64]uint8":            map[int64]uint8{1 << 40: 7},
		"map[uint]string":            map[uint]string{1: "a"},
		"map[uint8][]int":            map[uint8][]int{1: {2, 3}},
		"map[uint16]*ifaceLeaf":      map[uint16]*ifaceLeaf{1: leaf},
		"map[uint64]any":             map[uint64]any{1: map[int]string{1: "x"}},
		"map[float32]int":            map[float32]int{1.5: 1},
		"map[float64]string":         map[float64]string{2.5: "a"},
		"map[bool]int":               map[bool]int{true: 1},
		"map[any]any":                map[any]any{true: 1, "k": []any{map[int]int{1: 2}}},
		"map[[2]int]string":          map[[2]int]string{{1, 2}: "a"},
		"map[flatIface]int":          map[flatIface]int{{1, 2}: 3},
		"map[string]map[int]string":  map[string]map[int]string{"a": {1: "x"}},
		"nil map[int]string":         map[int]string(nil),
		"nil map[string]any":         map[string]any(nil),
		"[]any{map[int]int}":         []any{map[int]int{1: 2}},
		"[]any{nil, 1, \"s\"}":       []any{nil, 1, "s", 2.5, true},
		"[]map[int]string":           []map[int]string{{1: "a"}, nil},
		"nil []any":                  []any(nil),
		"[2]map[int]int":             [2]map[int]int{{1: 2}, {3: 4}},
		"[2]any":                     [2]any{map[int]string{1: "a"}, []int{1}},
		"[3]int":                     [3]int{1, 2, 3},
		"[2][]int":                   [2][]int{{1}, {2, 3}},
		"*map[int]string":            &map[int]string{1: "a"},
		"*ifaceLeaf":                 leaf,
		"**int":                      func() **int { i := 1; p := &i; return &p }(),
		"nil *ifaceLeaf":             (*ifaceLeaf)(nil),
		"*any":                       func() *any { var a any = map[int]int{1: 2}; return &a }(),
		"ifaceLeaf by value":         *leaf,
		"ifaceNode by value":         ifaceNode{Name: "n", Kids: []any{map[int]int{1: 2}, leaf, ifaceLeaf{M: map[int]string{2: "y"}}}, Ptr: leaf},
		"flatIface by value":         flatIface{1, 2},
		"Entity by value":            Entity{Name: "e", Stats: map[string]int32{"hp": 1}, ByID: map[uint64]Stats{1: {HP: 2}}, Grid: [2][]int{{1}, nil}, hidden: hidden{Secret: []int{1}}, Extra: map[int]string{1: "x"}},
		"Shape Circle":               Shape(Circle{R: 1}),
		"Shape *Poly":                Shape(&Poly{Pts: []Vec{{1, 2}}}),
		"time.Time":                  time.Unix(5, 0),
		"[]byte":                     []byte{1, 2},
		"string":                     "s",
		"int":                        7,
		"nil":                        nil,
		"struct{ M map[int]string }": struct{ M map[int]string }{M: map[int]string{1: "a"}},
		"struct{ m map[int]string }": struct {
			X int
			m map[int]string
		}{X: 1, m: map[int]string{1: "a"}},
	}
}

// TestCopyOfInterfacesOfEveryShape copies a value of each shape held in an
// `any` (and in an `any` inside a slice, a map and a struct field), checks
// the copy equals the original and shares nothing msgpack would encode.
func TestCopyOfInterfacesOfEveryShape(t *testing.T) {
	type holder struct {
		V     any
		Slice []any
		Map   map[string]any
		Arr   [1]any
	}
	c, err := For[any]()
	if err != nil {
		t.Fatal(err)
	}
	ch, err := For[holder]()
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range ifaceShapes() {
		t.Run(name, func(t *testing.T) {
			got, err := c.Copy(&v)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, v) {
				t.Fatalf("copy %#v, want %#v", *got, v)
			}
			assertDisjoint(t, reflect.ValueOf(got).Elem(), reflect.ValueOf(&v).Elem(), "v", 0)

			h := holder{V: v, Slice: []any{v, v}, Map: map[string]any{"k": v}, Arr: [1]any{v}}
			hc, err := ch.Copy(&h)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*hc, h) {
				t.Fatalf("holder copy %#v, want %#v", *hc, h)
			}
			assertDisjoint(t, reflect.ValueOf(hc).Elem(), reflect.ValueOf(&h).Elem(), "h", 0)
		})
	}
}

// randomAny builds a random value of the shapes msgpack encodes, nested up
// to depth levels, with the interfaces, maps and arrays that reach values
// only through unaddressable reflect.Values.
func randomAny(r *rand.Rand, depth int) any {
	if depth <= 0 {
		switch r.IntN(4) {
		case 0:
			return r.IntN(100)
		case 1:
			return fmt.Sprint(r.IntN(100))
		case 2:
			return nil
		default:
			return r.Float64()
		}
	}
	switch r.IntN(12) {
	case 0:
		m := map[int]string{}
		for i := range r.IntN(3) {
			m[i] = fmt.Sprint(i)
		}
		return m
	case 1:
		return map[int]int{r.IntN(9): r.IntN(9)}
	case 2:
		s := make([]any, r.IntN(4))
		for i := range s {
			s[i] = randomAny(r, depth-1)
		}
		return s
	case 3:
		m := map[string]any{}
		for i := range r.IntN(3) {
			m[fmt.Sprint(i)] = randomAny(r, depth-1)
		}
		return m
	case 4:
		m := map[any]any{}
		m[r.IntN(5)] = randomAny(r, depth-1)
		m[true] = randomAny(r, depth-1)
		return m
	case 5:
		return [2]any{randomAny(r, depth-1), randomAny(r, depth-1)}
	case 6:
		v := randomAny(r, depth-1)
		return &v
	case 7:
		return ifaceNode{Name: "n", Kids: []any{randomAny(r, depth-1)}, Ptr: &ifaceLeaf{N: 1, M: map[int]string{1: "a"}}}
	case 8:
		return [2]map[int]int{{1: 2}, nil}
	case 9:
		return map[int]string(nil)
	case 10:
		return []map[uint8]any{{1: randomAny(r, depth-1)}}
	default:
		return struct {
			A any
			B [1]map[int]int
		}{A: randomAny(r, depth-1), B: [1]map[int]int{{1: 1}}}
	}
}

func FuzzCopyOfInterfaces(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seed)
	}
	c, err := For[any]()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		r := rand.New(rand.NewPCG(seed, 1))
		v := randomAny(r, 4)
		got, err := c.Copy(&v)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, v) {
			t.Fatalf("copy %#v, want %#v", *got, v)
		}
		assertDisjoint(t, reflect.ValueOf(got).Elem(), reflect.ValueOf(&v).Elem(), "v", 0)
	})
}

// TestCopyOfRandomInterfaces runs the fuzz body over a fixed set of seeds,
// so go test (without -fuzz) covers a few hundred shapes.
func TestCopyOfRandomInterfaces(t *testing.T) {
	c, err := For[any]()
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 1))
		v := randomAny(r, 4)
		got, err := c.Copy(&v)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if !reflect.DeepEqual(*got, v) {
			t.Fatalf("seed %d: copy %#v, want %#v", seed, *got, v)
		}
		assertDisjoint(t, reflect.ValueOf(got).Elem(), reflect.ValueOf(&v).Elem(), "v", 0)
	}
}

// TestInterfaceMapKeysHoldingPointersAreAnError: a map[any]any key that
// holds a pointer would be shared by the copy, so Copy refuses it.
func TestInterfaceMapKeysHoldingPointersAreAnError(t *testing.T) {
	c, err := For[any]()
	if err != nil {
		t.Fatal(err)
	}
	x := 1
	var v any = map[any]any{&x: 1}
	if _, err := c.Copy(&v); err == nil || !strings.Contains(err.Error(), "map keys that hold pointers") {
		t.Fatalf("pointer key: %v", err)
	}
}
