package snapshot

import (
	"encoding"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// maxDepth bounds how deep Copy follows pointers, slices, maps and
// interfaces: a guard against a cycle of pointers (which msgpack would
// follow forever) and runaway recursion, not the save's nesting limit,
// which is the save format's to enforce (format.Limits.MaxDepth, 256 by
// default, raised by a game that needs it). It is above any nesting a
// save under sane limits holds.
const maxDepth = 1024

// plan says how to deep-copy values of one type.
type plan struct {
	t    reflect.Type
	deep bool // a plain value copy shares mutable memory: fix-ups needed
	// One of the following, by kind:
	fields  []fieldPlan // struct: the fields that need fix-ups
	elem    *plan       // slice, array, pointer, map value
	method  int         // index of SnapshotCopy on t, or -1
	viaPtr  bool        // SnapshotCopy has a pointer receiver
	isIface bool
	// ifaceKeys, for a map: its keys are interfaces, whose dynamic
	// values are checked for pointers as they are copied.
	ifaceKeys bool
	mapFast   func(dst, src unsafe.Pointer) // clone of a common flat map type

	// batch, for a slice of structs: the struct's fields that are slices
	// of values needing no fix-up. Copy gives each such field one backing
	// array for all the elements instead of one allocation per element.
	batch []fieldPlan
}

type fieldPlan struct {
	index    int
	offset   uintptr
	plan     *plan
	exported bool
}

var (
	customEncoderType   = reflect.TypeFor[msgpack.CustomEncoder]()
	marshalerType       = reflect.TypeFor[msgpack.Marshaler]()
	binaryMarshalerType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	timeType            = reflect.TypeFor[time.Time]()
)

// cache holds the plans of every type met, by reflect.Type. Plans are
// immutable once built, so sharing them across Copiers and goroutines is
// safe; the cache is the package's one piece of shared state and only
// grows by the number of distinct types in a program.
var cache sync.Map // reflect.Type -> *plan or error

// planFor returns the plan for t, building and caching it.
func planFor(t reflect.Type) (*plan, error) {
	if v, ok := cache.Load(t); ok {
		if err, isErr := v.(error); isErr {
			return nil, err
		}
		return v.(*plan), nil
	}
	b := builder{building: map[reflect.Type]*plan{}}
	p, err := b.build(t, t.String())
	if err != nil {
		cache.Store(t, err)
		return nil, err
	}
	// Batching is decided only now: a recursive element struct gets its
	// fields after the slices of it are planned.
	for _, bp := range b.building {
		if bp.t.Kind() == reflect.Slice && bp.elem.t.Kind() == reflect.Struct && bp.elem.method < 0 {
			for _, f := range bp.elem.fields {
				if batchable(f) {
					bp.batch = append(bp.batch, f)
				}
			}
		}
	}
	for bt, bp := range b.building {
		cache.LoadOrStore(bt, bp)
	}
	return p, nil
}

// batchable reports whether a struct field is a slice of values needing no
// fix-up, which Copy gives one backing array across a slice of structs.
func batchable(f fieldPlan) bool {
	return f.plan.t.Kind() == reflect.Slice && f.plan.method < 0 && !f.plan.elem.deep
}

type builder struct {
	building map[reflect.Type]*plan // plans of this build, for recursive types
}

// UncopyableError says why a type cannot be snapshotted, with the path of
// the field (World.Entities[].Owner) where the problem is.
type UncopyableError struct {
	Type reflect.Type
	Path string
	Why  string
}

func (e *UncopyableError) Error() string {
	return fmt.Sprintf("snapshot: %s: cannot copy %s: %s", e.Path, e.Type, e.Why)
}

func (b *builder) build(t reflect.Type, path string) (*plan, error) {
	if p, ok := b.building[t]; ok {
		return p, nil // recursive type: the plan is being built above
	}
	// A cached plan is reused; a cached failure is not, so that the error
	// names the path through which this build met the type.
	if v, ok := cache.Load(t); ok {
		if p, ok := v.(*plan); ok {
			return p, nil
		}
	}
	p := &plan{t: t, method: -1}
	b.building[t] = p
	fail := func(why string) (*plan, error) {
		delete(b.building, t)
		return nil, &UncopyableError{Type: t, Path: path, Why: why}
	}

	// The type's own copy method wins.
	if m, ok := t.MethodByName("SnapshotCopy"); ok && isCopyMethod(m.Type, t) {
		p.method, p.deep = m.Index, true
		return p, nil
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		if m, ok := reflect.PointerTo(t).MethodByName("SnapshotCopy"); ok && isCopyMethod(m.Type, t) {
			p.method, p.viaPtr, p.deep = m.Index, true, true
			return p, nil
		}
	}
	if t == timeType {
		return p, nil // immutable in practice: its *Location is never written
	}
	if runsOwnCode(t) {
		if hasPointers(t, map[reflect.Type]bool{}) {
			return fail("its msgpack encoding runs its own code (a custom or binary/text marshaler) and it holds pointers, so a copy cannot be proved unshared: give it a SnapshotCopy() method or encode on the caller")
		}
		return p, nil // pointer-free: a value copy is a deep copy
	}

	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return p, nil
	case reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return fail("msgpack cannot encode a " + t.Kind().String())
	case reflect.Array:
		e, err := b.build(t.Elem(), path+"[]")
		if err != nil {
			delete(b.building, t)
			return nil, err
		}
		p.elem, p.deep = e, e.deep
	case reflect.Slice:
		e, err := b.build(t.Elem(), path+"[]")
		if err != nil {
			delete(b.building, t)
			return nil, err
		}
		p.elem, p.deep = e, true // p.batch is set by planFor, once e is complete
	case reflect.Pointer:
		e, err := b.build(t.Elem(), "(*"+path+")")
		if err != nil {
			delete(b.building, t)
			return nil, err
		}
		p.elem, p.deep = e, true
	case reflect.Map:
		k, err := b.build(t.Key(), path+"{key}")
		if err != nil {
			delete(b.building, t)
			return nil, err
		}
		// An interface key (map[any]any) is checked per key at copy
		// time: only keys whose dynamic value holds no pointer are
		// copied.
		p.ifaceKeys = k.isIface
		if k.deep && !k.isIface {
			delete(b.building, t)
			return nil, &UncopyableError{Type: t.Key(), Path: path + "{key}", Why: "map keys that hold pointers would be shared"}
		}
		v, err := b.build(t.Elem(), path+"{}")
		if err != nil {
			delete(b.building, t)
			return nil, err
		}
		p.elem, p.deep = v, true
		if !v.deep {
			p.mapFast = fastMapClone(t)
		}
	case reflect.Interface:
		p.isIface, p.deep = true, true // planned by dynamic type at copy time
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("msgpack")
			name := strings.Split(tag, ",")[0]
			if name == "-" || (!f.IsExported() && !f.Anonymous) {
				continue // never encoded: a shallow copy is harmless
			}
			fp, err := b.build(f.Type, path+"."+f.Name)
			if err != nil {
				delete(b.building, t)
				return nil, err
			}
			if fp.deep {
				p.fields = append(p.fields, fieldPlan{index: i, offset: f.Offset, plan: fp, exported: f.IsExported()})
			}
		}
		p.deep = len(p.fields) > 0
		// A recursive struct may be marked deep only after its fields are
		// built; plans that referred to it while it was building read
		// p.deep at copy time, so they see the final value.
	default:
		return fail("unsupported kind " + t.Kind().String())
	}
	return p, nil
}

// isCopyMethod reports whether m (with receiver) is func(T) T or func(*T) T.
func isCopyMethod(m reflect.Type, t reflect.Type) bool {
	return m.NumIn() == 1 && m.NumOut() == 1 && m.Out(0) == t
}

// runsOwnCode reports whether msgpack encodes t by calling t's methods.
func runsOwnCode(t reflect.Type) bool {
	for _, it := range []reflect.Type{customEncoderType, marshalerType, binaryMarshalerType, textMarshalerType} {
		if t.Implements(it) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it)) {
			return true
		}
	}
	return false
}

// hasPointers reports whether values of t hold any pointer besides string
// data: slices, maps, pointers, interfaces, channels, funcs, at any depth,
// exported or not.
func hasPointers(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return hasPointers(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type, seen) {
				return true
			}
		}
	}
	return false
}

// fastMapClone returns a clone function for common map types whose keys
// and values need no deep copy: maps.Clone copies the table wholesale,
// several times faster than inserting entry by entry through reflect.
func fastMapClone(t reflect.Type) func(dst, src unsafe.Pointer) {
	if t.Name() != "" {
		return nil // a named map type: go through reflect
	}
	switch t {
	case reflect.TypeFor[map[string]int]():
		return cloneAt[map[string]int]
	case reflect.TypeFor[map[string]int32]():
		return cloneAt[map[string]int32]
	case reflect.TypeFor[map[string]int64]():
		return cloneAt[map[string]int64]
	case reflect.TypeFor[map[string]uint32]():
		return cloneAt[map[string]uint32]
	case reflect.TypeFor[map[string]float32]():
		return cloneAt[map[string]float32]
	case reflect.TypeFor[map[string]float64]():
		return cloneAt[map[string]float64]
	case reflect.TypeFor[map[string]string]():
		return cloneAt[map[string]string]
	case reflect.TypeFor[map[string]bool]():
		return cloneAt[map[string]bool]
	case reflect.TypeFor[map[int]int]():
		return cloneAt[map[int]int]
	case reflect.TypeFor[map[int32]int32]():
		return cloneAt[map[int32]int32]
	case reflect.TypeFor[map[uint32]uint32]():
		return cloneAt[map[uint32]uint32]
	case reflect.TypeFor[map[int]string]():
		return cloneAt[map[int]string]
	}
	return nil
}

// cloneAt stores at dst a clone of the map at src.
func cloneAt[M ~map[K]V, K comparable, V any](dst, src unsafe.Pointer) {
	*(*M)(dst) = maps.Clone(*(*M)(src))
}
