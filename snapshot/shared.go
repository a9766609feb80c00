package snapshot

import (
	"fmt"
	"reflect"
)

// SharedError reports two places in a value that refer to the same memory
// through a pointer or a map. msgpack does not keep identity: it writes
// the shared value once per place, and decoding makes a separate copy for
// each, so after a load a change made through one place no longer shows
// through the other.
type SharedError struct {
	Type         reflect.Type // the shared pointer or map type
	First, Again string       // the paths of the two places, e.g. World.Player and World.Entities[3]
}

func (e *SharedError) Error() string {
	return fmt.Sprintf("snapshot: %s and %s are the same %s: a save keeps the value but not the sharing, so after a load they are two separate copies (keep one owner and refer to it by an ID or index, or re-link them after loading)", e.First, e.Again, e.Type)
}

// FindShared walks *v as msgpack would encode it and returns the first
// pointer or map reachable from two places, or nil. Values whose type has
// a SnapshotCopy method are not entered; slices sharing a backing array
// are not reported (subslices are a common, deliberate view). It costs one
// map insertion per pointer and map in the value, so a caller on the game
// thread runs it now and then, not on every save.
func FindShared[T any](v *T) (*SharedError, error) {
	p, err := planFor(reflect.TypeFor[T]())
	if err != nil {
		return nil, err
	}
	root := reflect.ValueOf(v).Elem()
	w := sharedWalker{seen: map[uintptr]struct{}{}}
	w.walk(p, root, 0)
	if w.dup == 0 {
		return nil, nil
	}
	// Found: walk again, this time with paths, for the two places.
	pw := sharedWalker{target: w.dup, paths: []string{reflect.TypeFor[T]().String()}}
	pw.walk(p, root, 0)
	if len(pw.found) < 2 {
		pw.found = append(pw.found, "?", "?") // cannot happen: the first walk met it twice
	}
	return &SharedError{Type: w.dupType, First: pw.found[0], Again: pw.found[1]}, nil
}

// sharedWalker is one walk of FindShared: either looking for the first
// address met twice (seen), or, with target set, collecting the paths at
// which target is met.
type sharedWalker struct {
	seen    map[uintptr]struct{}
	dup     uintptr
	dupType reflect.Type

	target uintptr
	paths  []string // the path segments to the value being walked
	found  []string
}

func (w *sharedWalker) done() bool {
	if w.target != 0 {
		return len(w.found) >= 2
	}
	return w.dup != 0
}

// visit records a pointer or map at addr and reports whether to walk
// into it.
func (w *sharedWalker) visit(addr uintptr, t reflect.Type) bool {
	if w.target != 0 {
		if addr == w.target {
			w.found = append(w.found, w.path())
			return len(w.found) == 1 // walk into the first place only
		}
		return true
	}
	if _, ok := w.seen[addr]; ok {
		w.dup, w.dupType = addr, t
		return false
	}
	w.seen[addr] = struct{}{}
	return true
}

func (w *sharedWalker) path() string {
	s := ""
	for _, seg := range w.paths {
		s += seg
	}
	return s
}

// push adds a path segment when paths are being collected; pop removes it.
func (w *sharedWalker) push(seg func() string) {
	if w.target != 0 {
		w.paths = append(w.paths, seg())
	}
}

func (w *sharedWalker) pop() {
	if w.target != 0 {
		w.paths = w.paths[:len(w.paths)-1]
	}
}

func (w *sharedWalker) walk(p *plan, v reflect.Value, depth int) {
	if w.done() || !p.deep || p.method >= 0 || depth > maxDepth {
		return
	}
	switch p.t.Kind() {
	case reflect.Pointer:
		if v.IsNil() || p.t.Elem().Size() == 0 {
			return // pointers to zero-size values may share an address by design
		}
		if w.visit(v.Pointer(), p.t) {
			w.walk(p.elem, v.Elem(), depth+1)
		}
	case reflect.Map:
		if v.IsNil() || !w.visit(v.Pointer(), p.t) || !p.elem.deep {
			return
		}
		it := v.MapRange()
		for it.Next() && !w.done() {
			w.push(func() string { return fmt.Sprintf("[%v]", it.Key()) })
			w.walk(p.elem, it.Value(), depth+1)
			w.pop()
		}
	case reflect.Slice, reflect.Array:
		if !p.elem.deep {
			return
		}
		for i := range v.Len() {
			if w.done() {
				return
			}
			w.push(func() string { return fmt.Sprintf("[%d]", i) })
			w.walk(p.elem, v.Index(i), depth+1)
			w.pop()
		}
	case reflect.Struct:
		for _, f := range p.fields {
			w.push(func() string { return "." + p.t.Field(f.index).Name })
			w.walk(f.plan, v.Field(f.index), depth)
			w.pop()
		}
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		dyn := v.Elem()
		dp, err := planFor(dyn.Type())
		if err != nil {
			return // Copy reports it
		}
		w.walk(dp, dyn, depth+1)
	}
}
