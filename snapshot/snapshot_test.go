package snapshot

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

type Vec struct{ X, Y float32 }

type Item struct {
	Kind  string
	Count int
	Tags  []string
}

type Stats struct {
	HP, MP int32
}

type Base struct { // embedded, exported
	ID    uint64
	Notes []string
}

type hidden struct { // embedded, unexported: msgpack inlines its exported fields
	Secret []int
}

type Shape interface{ Area() float64 }

type Circle struct{ R float64 }

func (c Circle) Area() float64 { return 3 * c.R * c.R }

type Poly struct{ Pts []Vec }

func (p *Poly) Area() float64 { return float64(len(p.Pts)) }

type Entity struct {
	Base
	hidden
	Name      string
	Pos, Vel  Vec
	Color     [4]uint8
	Inventory []Item
	Stats     map[string]int32
	Equipped  *Item
	Friends   []*Entity
	Shape     Shape
	Extra     any
	Grid      [2][]int
	ByID      map[uint64]Stats
	Nested    map[string][]Item
	Born      time.Time
	cache     []byte // unexported: not encoded, shared is fine
	Skip      []int  `msgpack:"-"`
}

type World struct {
	Seed     int64
	Name     string
	Entities []Entity
	Lookup   map[string]*Entity
	Flags    map[string]bool
	Matrix   [3][3]float64
	Any      map[string]any
}

func richWorld(r *rand.Rand, n int) *World {
	w := &World{Seed: r.Int64(), Name: "arena", Lookup: map[string]*Entity{}, Flags: map[string]bool{"a": true},
		Any: map[string]any{"n": 1, "list": []any{"x", 2.5, map[string]any{"deep": []int{1, 2}}}, "ptr": &Vec{1, 2}}}
	for i := range n {
		e := Entity{
			Base:      Base{ID: uint64(i), Notes: []string{"n1", "n2"}},
			hidden:    hidden{Secret: []int{i, i + 1}},
			Name:      fmt.Sprintf("e%d", i),
			Pos:       Vec{r.Float32(), r.Float32()},
			Color:     [4]uint8{1, 2, 3, 4},
			Inventory: []Item{{Kind: "sword", Count: 1, Tags: []string{"sharp"}}, {Kind: "coin", Count: r.IntN(99)}},
			Stats:     map[string]int32{"str": r.Int32N(20), "dex": 3},
			Equipped:  &Item{Kind: "shield", Tags: []string{"round"}},
			Shape:     &Poly{Pts: []Vec{{1, 1}, {2, 2}}},
			Extra:     map[string]any{"k": []any{1, "two"}},
			Grid:      [2][]int{{1, 2}, {3}},
			ByID:      map[uint64]Stats{7: {HP: 10}},
			Nested:    map[string][]Item{"bag": {{Kind: "gem", Tags: []string{"red"}}}},
			Born:      time.Unix(int64(i), 0),
			cache:     []byte("cache"),
		}
		if i%2 == 0 {
			e.Shape = Circle{R: 2}
		}
		w.Entities = append(w.Entities, e)
	}
	for i := range w.Entities {
		if i > 0 {
			w.Entities[i].Friends = []*Entity{{Name: "pal", Stats: map[string]int32{"x": 1}}}
		}
		w.Lookup[w.Entities[i].Name] = &Entity{Name: w.Entities[i].Name, Inventory: []Item{{Kind: "k"}}}
	}
	return w
}

// assertDisjoint walks a and b in parallel and fails if any slice, map or
// pointer that msgpack would encode is shared between them.
func assertDisjoint(t *testing.T, a, b reflect.Value, path string, depth int) {
	t.Helper()
	if depth > 50 {
		return
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() > 0 && a.Pointer() == b.Pointer() {
			t.Fatalf("%s: slice shared", path)
		}
		for i := range a.Len() {
			assertDisjoint(t, a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
	case reflect.Array:
		for i := range a.Len() {
			assertDisjoint(t, a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
		}
	case reflect.Map:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() {
			t.Fatalf("%s: map shared", path)
		}
		it := a.MapRange()
		for it.Next() {
			assertDisjoint(t, it.Value(), b.MapIndex(it.Key()), fmt.Sprintf("%s[%v]", path, it.Key()), depth+1)
		}
	case reflect.Pointer:
		if a.IsNil() {
			return
		}
		if a.Pointer() == b.Pointer() && a.Type().Elem().Size() > 0 {
			t.Fatalf("%s: pointer shared", path)
		}
		assertDisjoint(t, a.Elem(), b.Elem(), "(*"+path+")", depth+1)
	case reflect.Interface:
		if !a.IsNil() {
			assertDisjoint(t, a.Elem(), b.Elem(), path, depth+1)
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range a.NumField() {
			f := a.Type().Field(i)
			if f.Tag.Get("msgpack") == "-" || (!f.IsExported() && !f.Anonymous) {
				continue
			}
			assertDisjoint(t, a.Field(i), b.Field(i), path+"."+f.Name, depth+1)
		}
	}
}

func TestCopyEqualsAndSharesNothing(t *testing.T) {
	c, err := For[World]()
	if err != nil {
		t.Fatal(err)
	}
	src := richWorld(rand.New(rand.NewPCG(1, 2)), 20)
	dst, err := c.Copy(src)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(src, dst) {
		t.Fatal("copy differs from the source")
	}
	assertDisjoint(t, reflect.ValueOf(src).Elem(), reflect.ValueOf(dst).Elem(), "World", 0)
	// Fields msgpack never encodes are shared, as documented.
	if unsafe.SliceData(src.Entities[0].cache) != unsafe.SliceData(dst.Entities[0].cache) {
		t.Fatal("an unexported, unencoded field was copied deeply (harmless, but not the documented plan)")
	}
	// The embedded unexported struct is encoded by msgpack, so it is copied.
	if &src.Entities[0].Secret[0] == &dst.Entities[0].Secret[0] {
		t.Fatal("embedded unexported field shared")
	}
}

// naiveClone is the test's oracle: a slow, obviously correct deep copy.
func naiveClone(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(naiveClone(v.Elem()))
		return n
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(naiveClone(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeMap(v.Type())
		it := v.MapRange()
		for it.Next() {
			n.SetMapIndex(it.Key(), naiveClone(it.Value()))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(v.Type()).Elem()
		n.Set(naiveClone(v.Elem()))
		return n
	case reflect.Array:
		n := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			n.Index(i).Set(naiveClone(v.Index(i)))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		n.Set(v)
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				n.Field(i).Set(naiveClone(v.Field(i)))
			} else if v.Type().Field(i).Anonymous {
				f := settable(n.Field(i))
				src := reflect.New(v.Type()).Elem()
				src.Set(v)
				f.Set(naiveClone(settable(src.Field(i))))
			}
		}
		return n
	}
	return v
}

// mutate changes the world at random places, deep inside.
func mutate(r *rand.Rand, w *World) {
	e := &w.Entities[r.IntN(len(w.Entities))]
	switch r.IntN(14) {
	case 0:
		e.Inventory[0].Tags[0] = "blunt"
	case 1:
		e.Inventory[1].Count++
	case 2:
		e.Stats["str"]++
	case 3:
		e.Equipped.Tags[0] = "square"
	case 4:
		if len(e.Friends) > 0 {
			e.Friends[0].Stats["x"]++
		}
	case 5:
		if p, ok := e.Shape.(*Poly); ok {
			p.Pts[0].X++
		}
	case 6:
		e.Extra.(map[string]any)["k"].([]any)[0] = 99
	case 7:
		e.Grid[0][0]++
	case 8:
		e.Nested["bag"][0].Tags[0] = "blue"
	case 9:
		e.Notes[0] = "changed"
	case 10:
		e.Secret[0]++
	case 11:
		w.Lookup[e.Name].Inventory[0].Kind = "changed"
	case 12:
		w.Any["list"].([]any)[2].(map[string]any)["deep"].([]int)[0]++
		*w.Any["ptr"].(*Vec) = Vec{9, 9}
	case 13:
		e.Inventory = append(e.Inventory[:1], Item{Kind: "new"})
		e.Stats["new"] = 1
	}
}

// TestCopyNeverChanges mutates the source at random after copying: the
// copy must stay equal to an independent clone taken at the same moment.
func TestCopyNeverChanges(t *testing.T) {
	c, _ := For[World]()
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 7))
		src := richWorld(r, 8)
		cp, err := c.Copy(src)
		if err != nil {
			t.Fatal(err)
		}
		oracle := naiveClone(reflect.ValueOf(src)).Interface().(*World)
		for range 200 {
			mutate(r, src)
		}
		if !reflect.DeepEqual(cp, oracle) {
			t.Fatalf("seed %d: the copy changed when the source did", seed)
		}
		if reflect.DeepEqual(src, oracle) {
			t.Fatalf("seed %d: mutations did nothing (the test would prove nothing)", seed)
		}
	}
}

type withChan struct{ C chan int }
type withFunc struct {
	Name string
	F    func()
}
type deepChan struct {
	Entities []struct {
		Owner *withChan
	}
}
type marshalsWithPointers struct{ P []int }

func (m *marshalsWithPointers) MarshalBinary() ([]byte, error) { return nil, nil }

type marshalsFlat struct{ A, B int }

func (m marshalsFlat) MarshalText() ([]byte, error) { return []byte("x"), nil }

type hiddenChan struct {
	c    chan int // unexported, not encoded: fine
	Name string
}

func TestUncopyableTypesFailAtStart(t *testing.T) {
	for _, c := range []struct {
		t    reflect.Type
		path string
	}{
		{reflect.TypeFor[withChan](), "snapshot.withChan.C"},
		{reflect.TypeFor[withFunc](), "snapshot.withFunc.F"},
		{reflect.TypeFor[deepChan](), "snapshot.deepChan.Entities[].Owner"},
		{reflect.TypeFor[struct{ P unsafe.Pointer }](), ".P"},
		{reflect.TypeFor[map[string]marshalsWithPointers](), "{}"},
		{reflect.TypeFor[struct{ M map[*int]int }](), ".M{key}"},
	} {
		err := check(c.t)
		var ue *UncopyableError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: got %v, want an error naming %s", c.t, err, c.path)
		}
	}
	_ = hiddenChan{c: nil}.c // an unexported channel msgpack never encodes
	for _, ok := range []reflect.Type{
		reflect.TypeFor[hiddenChan](), reflect.TypeFor[marshalsFlat](), reflect.TypeFor[time.Time](),
		reflect.TypeFor[World](),
	} {
		if err := check(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := For[withChan](); err == nil {
		t.Fatal("For accepted a channel")
	}
}

type node struct {
	V    int
	Next *node
}

func TestCyclesAreAnError(t *testing.T) {
	c, err := For[node]()
	if err != nil {
		t.Fatal(err)
	}
	// A list is fine.
	list := &node{V: 1, Next: &node{V: 2}}
	cp, err := c.Copy(list)
	if err != nil || cp.Next.V != 2 || cp.Next == list.Next {
		t.Fatalf("list: %v", err)
	}
	// A cycle is an error, not a hang.
	a := &node{V: 1}
	a.Next = &node{V: 2, Next: a}
	if _, err := c.Copy(a); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("cycle: %v", err)
	}
	// An interface holding an uncopyable type fails at copy time.
	ic, _ := For[struct{ V any }]()
	if _, err := ic.Copy(&struct{ V any }{V: make(chan int)}); err == nil {
		t.Fatal("interface holding a channel copied")
	}
}

type ownCopy struct {
	Data  []int
	calls *int
}

func (o ownCopy) SnapshotCopy() ownCopy {
	*o.calls++
	return ownCopy{Data: append([]int(nil), o.Data...), calls: o.calls}
}

type ownPtrCopy struct{ Data []int }

func (o *ownPtrCopy) SnapshotCopy() ownPtrCopy { return ownPtrCopy{Data: []int{42}} }

func TestOwnCopyMethodWins(t *testing.T) {
	calls := 0
	type holder struct {
		A ownCopy
		B []ownCopy
		C map[string]ownPtrCopy
	}
	c, err := For[holder]()
	if err != nil {
		t.Fatal(err)
	}
	src := &holder{A: ownCopy{Data: []int{1}, calls: &calls}, B: []ownCopy{{Data: []int{2}, calls: &calls}},
		C: map[string]ownPtrCopy{"k": {Data: []int{3}}}}
	cp, err := c.Copy(src)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || cp.A.Data[0] != 1 || &cp.A.Data[0] == &src.A.Data[0] || cp.C["k"].Data[0] != 42 {
		t.Fatalf("calls %d, copy %+v", calls, cp)
	}
}

func TestBatchedSlices(t *testing.T) {
	type unit struct {
		Name  string
		Path  []Vec    // pointer-free elements: copied as bytes
		Tags  []string // elements with pointers: typed copy
		Stats map[string]int32
	}
	c, err := For[[]unit]()
	if err != nil {
		t.Fatal(err)
	}
	src := []unit{
		{Name: "a", Path: []Vec{{1, 2}, {3, 4}}, Tags: []string{"x"}},
		{Name: "b", Path: nil, Tags: []string{}},
		{Name: "c", Path: []Vec{}, Tags: nil, Stats: map[string]int32{"k": 1}},
		{Name: "d", Path: []Vec{{5, 6}}, Tags: []string{"y", "z"}},
	}
	cp, err := c.Copy(&src)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cp, src) {
		t.Fatalf("copy %+v differs", *cp)
	}
	if (*cp)[1].Path != nil || (*cp)[2].Path == nil || (*cp)[1].Tags == nil || (*cp)[2].Tags != nil {
		t.Fatal("nil and empty slices not preserved")
	}
	assertDisjoint(t, reflect.ValueOf(src), reflect.ValueOf(*cp), "units", 0)
	// Appending to one copied element must not write into its neighbour.
	(*cp)[0].Path = append((*cp)[0].Path, Vec{9, 9})
	(*cp)[0].Tags = append((*cp)[0].Tags, "new")
	if (*cp)[3].Path[0] != (Vec{5, 6}) || (*cp)[3].Tags[0] != "y" {
		t.Fatal("an append reached the neighbouring element")
	}
	src[3].Path[0] = Vec{7, 7}
	src[3].Tags[0] = "changed"
	if (*cp)[3].Path[0] != (Vec{5, 6}) || (*cp)[3].Tags[0] != "y" {
		t.Fatal("copy changed with the source")
	}
}

// rnode is recursive: its Kids slice is planned before the struct's
// fields are all known, so batching must wait until they are.
type rnode struct {
	Tags []string
	Kids []rnode
	More []int
}

func TestRecursiveStructSharesNothing(t *testing.T) {
	c, err := For[rnode]()
	if err != nil {
		t.Fatal(err)
	}
	src := rnode{Tags: []string{"root"}, Kids: []rnode{
		{Tags: []string{"a"}, More: []int{1, 2}},
		{Tags: []string{"b"}, More: []int{3}, Kids: []rnode{{More: []int{4}}}},
	}, More: []int{0}}
	cp, err := c.Copy(&src)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*cp, src) {
		t.Fatalf("copy %+v differs", *cp)
	}
	assertDisjoint(t, reflect.ValueOf(src), reflect.ValueOf(*cp), "rnode", 0)
	src.Kids[0].More[0] = 99
	src.Kids[1].Kids[0].More[0] = 99
	src.Kids[1].Tags[0] = "changed"
	if cp.Kids[0].More[0] != 1 || cp.Kids[1].Kids[0].More[0] != 4 || cp.Kids[1].Tags[0] != "b" {
		t.Fatalf("copy changed with the source: %+v", *cp)
	}
}
