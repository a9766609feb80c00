package savegame

import (
	"encoding"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/savekit/savekit/format"
)

// decodeLikeLoad decodes b as Load decodes a save body into *out: the same
// decoder, settings, validation and panic recovery.
func decodeLikeLoad(b []byte, out any) error {
	return (&format.File{Body: b}).Decode(out)
}

// proveMeta proves that meta decodes the way Load and List will decode it
// under lim, and returns the map to write: the decoded form, a copy the
// caller can no longer change, whose own encoding has been decoded once
// more. So what is written is exactly what was proved. meta is a
// map[string]any or a struct (or a pointer to one, or a map with string
// keys), which must also decode back into its own type, as Meta.Decode
// will. The error names the offending key.
func proveMeta(meta any, lim *format.Limits) (_ map[string]any, err error) {
	// Encoding runs the game's own marshal methods: a panic there is a
	// refused save, never a crash on the game thread.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %w while encoding the metadata (nothing was saved): %v", ErrMetadata, ErrPanic, r)
		}
	}()
	m, ok := meta.(map[string]any)
	if !ok && meta != nil {
		if m, err = metaMap(meta, lim); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMetadata, err)
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	decoded, err := encodeDecodeMeta(m, lim)
	if err == nil {
		_, err = encodeDecodeMeta(decoded, lim)
	}
	if err == nil {
		return decoded, nil
	}
	// Name the key: try each alone, in a stable order.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		one := map[string]any{k: m[k]}
		d, kerr := encodeDecodeMeta(one, lim)
		if kerr == nil {
			_, kerr = encodeDecodeMeta(d, lim)
		}
		if kerr != nil {
			return nil, fmt.Errorf("%w: key %q (%T) does not decode the way List reads metadata: %w", ErrMetadata, k, m[k], kerr)
		}
	}
	return nil, fmt.Errorf("%w: it does not decode the way List reads it: %w", ErrMetadata, err)
}

// metaMap turns metadata given as a struct (or a map with string keys)
// into the map a save holds, proving that the encoding decodes back into
// the metadata's own type.
func metaMap(meta any, lim *format.Limits) (map[string]any, error) {
	t := reflect.TypeOf(meta)
	b, err := format.MarshalBody(meta)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	if len(b) == 0 || !(b[0] >= 0x80 && b[0] <= 0x8f || b[0] == 0xde || b[0] == 0xdf) {
		if len(b) > 0 && b[0] == 0xc0 {
			return nil, nil // a nil pointer or map: no metadata
		}
		return nil, fmt.Errorf("%s does not encode as a map: metadata is a struct or a map with string keys", t)
	}
	into := t
	for into.Kind() == reflect.Pointer {
		into = into.Elem()
	}
	if err := decodeLikeLoad(b, reflect.New(into).Interface()); err != nil {
		return nil, fmt.Errorf("%s does not decode back into itself: %w", t, err)
	}
	g, err := (&format.File{Body: b}).DecodeGeneric()
	if err != nil {
		return nil, fmt.Errorf("%s does not decode generically: %w", t, err)
	}
	m, ok := g.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s encodes a map whose keys are not strings: metadata is a struct or a map with string keys", t)
	}
	// What List returns (normalized, on a copy) must decode back into
	// the metadata's type, as Meta.Decode does.
	if err := decodeValue(normalize(m), reflect.New(into).Interface(), lim); err != nil {
		return nil, fmt.Errorf("%s does not come back from List as itself (Meta.Decode): %w", t, err)
	}
	return m, nil
}

// encodeDecodeMeta encodes m as a save's metadata is encoded and decodes
// it as List does, both under lim.
func encodeDecodeMeta(m map[string]any, lim *format.Limits) (map[string]any, error) {
	b, _, err := format.Marshal(format.Params{Meta: m}, nil, lim)
	if err != nil {
		return nil, err
	}
	f, err := format.Parse(b, lim)
	if err != nil {
		return nil, err
	}
	return f.DecodeMeta()
}

// genericProver proves, for one world type, that every value the world
// holds in an interface (an `any` field, a []any, a map[string]any) decodes
// the way Load decodes it. Load decodes typed fields by their type, which
// Open's round trip checks once; what sits in an interface is decoded
// generically, by what the bytes say, and can fail for values the typed
// store encoded fine (a map[int]string in an `any`). The prover walks only
// the parts of the type that can hold an interface, so a world without any
// costs nothing. Used by the writer goroutine only: its cache is unlocked.
type genericProver struct {
	holds    map[reflect.Type]bool // whether values of the type can hold an interface
	maxDepth int                   // the store's nesting limit: no save holds deeper values
}

// prove walks v (a *T) and proves each interface-held value.
func (g *genericProver) prove(v reflect.Value) error {
	if g.holds == nil {
		g.holds = map[reflect.Type]bool{}
	}
	if !g.canHold(v.Type()) {
		return nil
	}
	return g.walk(v, v.Type().Elem().String(), 0)
}

// canHold reports whether a value of t can hold an interface in a part
// msgpack encodes by reflection.
func (g *genericProver) canHold(t reflect.Type) bool {
	if h, ok := g.holds[t]; ok {
		return h
	}
	g.holds[t] = false // a recursive type is decided by its other parts
	h := false
	switch {
	case ownCode(t) || t == timeType:
	default:
		switch t.Kind() {
		case reflect.Interface:
			h = true
		case reflect.Pointer, reflect.Slice, reflect.Array:
			h = g.canHold(t.Elem())
		case reflect.Map:
			h = g.canHold(t.Key()) || g.canHold(t.Elem())
		case reflect.Struct:
			for _, f := range encodedFields(t) {
				if g.canHold(f.Type) {
					h = true
				}
			}
		}
	}
	g.holds[t] = h
	return h
}

func (g *genericProver) walk(v reflect.Value, path string, depth int) error {
	if depth > g.maxDepth {
		return nil // the encoder refuses it (ErrTooLarge)
	}
	t := v.Type()
	if !g.canHold(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return proveGeneric(v.Elem(), path, depth)
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return g.walk(v.Elem(), path, depth+1)
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := g.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			p := fmt.Sprintf("%s[%v]", path, it.Key())
			if err := g.walk(it.Key(), p+"{key}", depth+1); err != nil {
				return err
			}
			// A map's values are not addressable: walk a copy, so that
			// fields inside it can be made readable.
			mv := reflect.New(t.Elem()).Elem()
			mv.Set(it.Value())
			if err := g.walk(mv, p, depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		for _, f := range encodedFields(t) {
			if err := g.walk(readable(v.Field(f.Index[0])), path+"."+f.Name, depth); err != nil {
				return err
			}
		}
	}
	return nil
}

// proveGeneric encodes x as it would be saved and decodes it into an
// `any`, as Load decodes an interface-typed part. On failure it looks for
// the innermost part that fails alone, to name it.
func proveGeneric(x reflect.Value, path string, depth int) error {
	err := genericRoundTrip(x)
	if err == nil {
		return nil
	}
	if p, inner := innermostFailure(x, path, depth); p != "" {
		path, x, err = p, inner, genericRoundTrip(inner)
	}
	return fmt.Errorf("%w: %s (%s) does not decode the way Load reads a value held in an interface: %w", ErrUnloadable, path, x.Type(), err)
}

// readable returns v, or, when v was reached through an unexported
// embedded field, a view of the same memory that may be read as an
// interface value.
func readable(v reflect.Value) reflect.Value {
	if v.CanInterface() || !v.CanAddr() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func genericRoundTrip(x reflect.Value) error {
	if !x.CanInterface() {
		return nil // reached only through an unaddressable unexported field: not provable here
	}
	b, err := format.MarshalBody(x.Interface())
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	// CheckGeneric reaches the verdict a generic decode does (the
	// validator, then every map key as Load's decoder reads keys) without
	// building the values: a save is not a second Load's worth of garbage.
	return format.CheckGeneric(b)
}

// innermostFailure returns the deepest part of x (a map's value, a slice
// element, a field) that fails a generic round trip alone, or "" when no
// part does (x itself is the culprit: a map whose keys Load cannot read).
func innermostFailure(x reflect.Value, path string, depth int) (string, reflect.Value) {
	if depth > format.DefaultMaxDepth {
		return "", x
	}
	try := func(part reflect.Value, p string) (string, reflect.Value, bool) {
		for part.Kind() == reflect.Interface && !part.IsNil() {
			part = part.Elem() // name the value's own type, not "interface {}"
		}
		if genericRoundTrip(part) == nil {
			return "", x, false
		}
		if ip, inner := innermostFailure(part, p, depth+1); ip != "" {
			return ip, inner, true
		}
		return p, part, true
	}
	switch x.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !x.IsNil() {
			return innermostFailure(x.Elem(), path, depth+1)
		}
	case reflect.Slice, reflect.Array:
		for i := range x.Len() {
			if p, v, ok := try(x.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, v
			}
		}
	case reflect.Map:
		it := x.MapRange()
		for it.Next() {
			if p, v, ok := try(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key())); ok {
				return p, v
			}
		}
	case reflect.Struct:
		if ownCode(x.Type()) || x.Type() == timeType {
			break
		}
		for _, f := range encodedFields(x.Type()) {
			if p, v, ok := try(x.FieldByIndex(f.Index), path+"."+f.Name); ok {
				return p, v
			}
		}
	}
	return "", x
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	ownCodeInterfaces   = []reflect.Type{reflect.TypeFor[msgpack.CustomEncoder](), reflect.TypeFor[msgpack.CustomDecoder](), reflect.TypeFor[msgpack.Marshaler](), reflect.TypeFor[msgpack.Unmarshaler](), reflect.TypeFor[encoding.BinaryMarshaler](), reflect.TypeFor[encoding.BinaryUnmarshaler](), reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[encoding.TextUnmarshaler]()}
	customCodecAdvice   = "give the type that holds it msgpack.CustomEncoder and msgpack.CustomDecoder methods that write and read which concrete type it is"
	dashTagAdvice       = "tag the field `msgpack:\"-\"` to leave it out of saves (and rebuild it after Load)"
	encodeOnCallerNoUse = "Options.EncodeOnCaller would not help: msgpack cannot save it either"
)

// ownCode reports whether msgpack encodes or decodes t by calling t's own
// methods; reflection stops there.
func ownCode(t reflect.Type) bool {
	for _, it := range ownCodeInterfaces {
		if t.Implements(it) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(it)) {
			return true
		}
	}
	return false
}

// encodedFields returns the fields of struct type t that msgpack encodes
// (exported or embedded, not tagged "-"), as it flattens them: the
// exported fields of an embedded struct without a name tag count as t's.
func encodedFields(t reflect.Type) []reflect.StructField {
	var out []reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("msgpack"), ",")[0]
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		f.Index = []int{i}
		out = append(out, f)
	}
	return out
}

// checkWorldType checks, before any save, that values of t can be saved
// and loaded back: every part msgpack encodes by reflection can also be
// decoded into t by it. It refuses, naming the field and the fix that
// works: funcs, channels and unsafe pointers (msgpack cannot encode them);
// interface types with methods (msgpack writes the concrete value, but
// decodes an interface only as generic maps and slices, which do not
// implement it: every Load would fail "not assignable"); and structs with
// fields of which msgpack encodes none (all unexported: the save would
// hold nothing of them).
func checkWorldType(t reflect.Type) error {
	c := typeChecker{done: map[reflect.Type]bool{}}
	return c.check(t, t.String(), t)
}

type typeChecker struct {
	done map[reflect.Type]bool
}

// check checks t, reached at path; holder is the nearest struct type
// around it, named in the advice for interface fields.
func (c *typeChecker) check(t reflect.Type, path string, holder reflect.Type) error {
	if c.done[t] {
		return nil
	}
	c.done[t] = true
	if ownCode(t) || t == timeType {
		return nil // the type encodes and decodes itself; the round trip at Open runs it
	}
	fail := func(why string) error {
		return fmt.Errorf("%w: %s (%s): %s", ErrUnloadable, path, t, why)
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return fail(fmt.Sprintf("msgpack cannot save a %s: %s (%s)", t.Kind(), dashTagAdvice, encodeOnCallerNoUse))
	case reflect.Complex64, reflect.Complex128:
		return fail("msgpack cannot save a complex number: store its real and imaginary parts as two float fields, or " + dashTagAdvice)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return nil // any: decoded generically, each value proved at Save
		}
		return fail(fmt.Sprintf("an interface type with methods: msgpack saves the concrete value but cannot decode it back into %s (every Load would fail), so: %s; or use a concrete type; or %s (here %s)", t, dashTagAdvice, customCodecAdvice, holder))
	case reflect.Pointer:
		return c.check(t.Elem(), "(*"+path+")", holder)
	case reflect.Slice, reflect.Array:
		return c.check(t.Elem(), path+"[]", holder)
	case reflect.Map:
		if err := c.check(t.Key(), path+"{key}", holder); err != nil {
			return err
		}
		return c.check(t.Elem(), path+"{}", holder)
	case reflect.Struct:
		fields := encodedFields(t)
		if len(fields) == 0 && t.NumField() > 0 {
			why := fmt.Sprintf("none of its %d fields is saved (msgpack saves only exported fields, and this type has none): export the fields that make up the state, or give the type msgpack.CustomEncoder and msgpack.CustomDecoder methods", t.NumField())
			if holder != t {
				why += "; if it is not state (a sync.Mutex, a cache), " + dashTagAdvice
			}
			return fail(why)
		}
		for _, f := range fields {
			if err := c.check(f.Type, path+"."+f.Name, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// roundTripWorld encodes two values of type T as Save would, decodes each
// into a new T as Load would, and checks that the decoded value encodes to
// the same bytes: the zero value, and a probe with every field, element
// and pointer filled in. Whatever msgpack cannot decode back into T fails
// here, at Open, instead of at the first Load; the error names the
// innermost field that fails alone.
func roundTripWorld[T any]() (err error) {
	// The round trip runs the world's own marshal methods: a panic there
	// is Open's error, not the game's crash.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %s: encoding or decoding it panicked: %v", ErrUnloadable, reflect.TypeFor[T](), r)
		}
	}()
	t := reflect.TypeFor[T]()
	probe := reflect.New(t).Elem()
	fillProbe(probe, map[reflect.Type]bool{}, 0)
	for _, c := range []struct {
		what string
		v    reflect.Value
	}{{"its zero value", reflect.New(t).Elem()}, {"a value with every field set", probe}} {
		if err := roundTripValue(c.v); err != nil {
			path, v := t.String(), c.v
			if p, inner := innermostRoundTripFailure(v, path, 0); p != "" {
				path, v, err = p, inner, roundTripValue(inner)
			}
			return fmt.Errorf("%w: %s (%s): %s %w", ErrUnloadable, path, v.Type(), c.what, err)
		}
	}
	return nil
}

// roundTripValue encodes v as Save would, decodes it into a new value of
// its type as Load would, and checks that it encodes the same again.
func roundTripValue(v reflect.Value) error {
	src := reflect.New(v.Type())
	src.Elem().Set(v)
	b, err := format.MarshalBody(src.Interface())
	if err != nil {
		return fmt.Errorf("does not encode: %w", err)
	}
	back := reflect.New(v.Type())
	if err := decodeLikeLoad(b, back.Interface()); err != nil {
		return fmt.Errorf("encodes but does not decode back: %w", err)
	}
	b2, err := format.MarshalBody(back.Interface())
	if err != nil || string(b2) != string(b) {
		return fmt.Errorf("does not come back the same from a save and a load (%s)", firstDifference(v, back.Elem(), v.Type().String(), 0))
	}
	return nil
}

// innermostRoundTripFailure returns the deepest encoded part of v that
// fails roundTripValue alone, or "" when none does.
func innermostRoundTripFailure(v reflect.Value, path string, depth int) (string, reflect.Value) {
	t := v.Type()
	if depth > 32 || ownCode(t) || t == timeType {
		return "", v
	}
	try := func(part reflect.Value, p string) (string, reflect.Value, bool) {
		if !part.CanInterface() || roundTripValue(part) == nil {
			return "", v, false
		}
		if ip, inner := innermostRoundTripFailure(part, p, depth+1); ip != "" {
			return ip, inner, true
		}
		return p, part, true
	}
	switch t.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			if p, part, ok := try(v.Elem(), "(*"+path+")"); ok {
				return p, part
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if p, part, ok := try(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, part
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if p, part, ok := try(it.Value(), fmt.Sprintf("%s[%v]", path, it.Key())); ok {
				return p, part
			}
		}
	case reflect.Struct:
		for _, f := range encodedFields(t) {
			if p, part, ok := try(v.Field(f.Index[0]), path+"."+f.Name); ok {
				return p, part
			}
		}
	}
	return "", v
}

// fillProbe sets every settable, encoded part of v to a value other than
// zero: one element per slice and map, a target for every pointer. Types
// that encode themselves, and a type met again inside itself, stay zero.
func fillProbe(v reflect.Value, onPath map[reflect.Type]bool, depth int) {
	t := v.Type()
	if !v.CanSet() || onPath[t] || depth > 32 || ownCode(t) {
		return
	}
	if t == timeType {
		v.Set(reflect.ValueOf(time.Unix(1_700_000_000, 5).UTC()))
		return
	}
	onPath[t] = true
	defer delete(onPath, t)
	switch t.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-3)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(3)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.String:
		v.SetString("probe")
	case reflect.Interface:
		if t.NumMethod() == 0 {
			v.Set(reflect.ValueOf("probe"))
		}
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		fillProbe(p.Elem(), onPath, depth+1)
		v.Set(p)
	case reflect.Slice:
		s := reflect.MakeSlice(t, 1, 1)
		fillProbe(s.Index(0), onPath, depth+1)
		v.Set(s)
	case reflect.Array:
		if t.Len() > 0 {
			fillProbe(v.Index(0), onPath, depth+1)
		}
	case reflect.Map:
		k, e := reflect.New(t.Key()).Elem(), reflect.New(t.Elem()).Elem()
		fillProbe(k, onPath, depth+1)
		fillProbe(e, onPath, depth+1)
		m := reflect.MakeMapWithSize(t, 1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for _, f := range encodedFields(t) {
			fillProbe(v.Field(f.Index[0]), onPath, depth+1)
		}
	}
}

// firstDifference names the first encoded part where a and b differ, for
// the round trip's error.
func firstDifference(a, b reflect.Value, path string, depth int) string {
	if depth > 64 || !a.IsValid() || !b.IsValid() {
		return "at " + path
	}
	if a.Type() != b.Type() {
		return fmt.Sprintf("at %s: saved as %s, loaded as %s", path, a.Type(), b.Type())
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() != b.IsNil() {
			return fmt.Sprintf("at %s: nil before, not after, or the reverse", path)
		}
		if !a.IsNil() {
			return firstDifference(a.Elem(), b.Elem(), path, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return fmt.Sprintf("at %s: %d elements saved, %d loaded", path, a.Len(), b.Len())
		}
		for i := range a.Len() {
			if !reflect.DeepEqual(a.Index(i).Interface(), b.Index(i).Interface()) {
				return firstDifference(a.Index(i), b.Index(i), fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	case reflect.Struct:
		if !ownCode(a.Type()) && a.Type() != timeType {
			for _, f := range encodedFields(a.Type()) {
				fa, fb := a.Field(f.Index[0]), b.Field(f.Index[0])
				if fa.CanInterface() && !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
					return firstDifference(fa, fb, path+"."+f.Name, depth+1)
				}
			}
		}
	}
	if a.CanInterface() {
		return fmt.Sprintf("at %s: saved %v, loaded %v", path, a.Interface(), b.Interface())
	}
	return "at " + path
}
