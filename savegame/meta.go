package savegame

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/savekit/savekit/format"
)

// Meta is a save's metadata as List and Load return it: the map, or the
// struct's fields by name, given to Save in SaveOptions.Meta, with values
// in their generic form (see Migration): integers as int64 (uint64 only
// above math.MaxInt64), floats as float64, strings, bools, []byte,
// time.Time in UTC, []any and Meta-shaped map[string]any. Decode turns it back
// into the game's own metadata type.
type Meta map[string]any

// Decode decodes the metadata into *v, the way Load decodes a save into
// the game's type: v is usually a pointer to the struct the game gives
// Save as SaveOptions.Meta, so a load menu gets its fields typed.
func (m Meta) Decode(v any) error {
	if m == nil {
		return nil
	}
	if err := decodeValue(map[string]any(m), v, nil); err != nil {
		return fmt.Errorf("savegame: decode metadata into %T: %w", v, err)
	}
	return nil
}

// normalizeMeta is m with its values in their generic form.
func normalizeMeta(m map[string]any) Meta {
	if m == nil {
		return nil
	}
	return Meta(normalize(m).(map[string]any))
}

// normalize returns v, a generically decoded value, in the documented
// generic form: msgpack's decoder gives each integer the narrowest type
// its encoding used (int8, uint16 ...), so the same field comes back
// int8 in one save and uint8 in the next; normalize makes every integer
// int64 (uint64 above math.MaxInt64), every float float64, every time
// UTC, and every map whose keys are all strings a map[string]any. Its
// maps and slices are new: v may be the game's own (what a migration
// returned) or shared.
func normalize(v any) any {
	switch x := v.(type) {
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint:
		return unsigned(uint64(x))
	case uint64:
		return unsigned(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC() // msgpack decodes times in the machine's zone
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case Meta:
		return normalize(map[string]any(x))
	case map[any]any:
		strKeys := true
		for k := range x {
			if _, ok := k.(string); !ok {
				strKeys = false
				break
			}
		}
		if strKeys {
			m := make(map[string]any, len(x))
			for k, e := range x {
				m[k.(string)] = normalize(e)
			}
			return m
		}
		m := make(map[any]any, len(x))
		for k, e := range x {
			m[normalize(k)] = normalize(e)
		}
		return m
	}
	return v
}

func unsigned(u uint64) any {
	if u <= math.MaxInt64 {
		return int64(u)
	}
	return u
}

// Migrate makes a Migration from a typed function: the save's generic form
// is decoded into Old (as Load decodes a save into its type), f turns it
// into New, and New's encoding is what the next step, or Load, reads.
// Old is the world type as the older schema had it, kept in the game's
// code under another name:
//
//	type WorldV1 struct{ Gold int }
//	type World struct{ Coins int64 }
//
//	Migrations: map[uint32]savegame.Migration{
//		1: savegame.Migrate(func(old WorldV1) (World, error) {
//			return World{Coins: int64(old.Gold)}, nil
//		}),
//	}
func Migrate[Old, New any](f func(Old) (New, error)) Migration {
	return func(g any) (any, error) {
		var old Old
		if err := decodeValue(g, &old, nil); err != nil {
			return nil, fmt.Errorf("the save does not decode into %s: %w", reflect.TypeFor[Old](), err)
		}
		nv, err := f(old)
		if err != nil {
			return nil, err
		}
		return genericOf(nv, nil)
	}
}

// migrationLimits are lim (nil: the defaults) with the allowance of a
// generic decode: a migration's values come from a save that was read
// within it (format.File.DecodeGenericOld), and they are re-encoded and
// decoded again between the steps.
func migrationLimits(lim *format.Limits) *format.Limits {
	var l format.Limits
	if lim != nil {
		l = *lim
	}
	l.MaxExpansion = max(l.MaxExpansion, format.GenericMaxExpansion)
	return &l
}

// decodeValue encodes g, a generic value, and decodes it into *out as
// Load decodes a save (validated, bounded, panics caught), under
// migrationLimits(lim). Floats that the generic form widened to float64
// are written as float32 where *out has a float32 (floatsFor).
func decodeValue(g any, out any, lim *format.Limits) error {
	if t := reflect.TypeOf(out); t == nil || t.Kind() != reflect.Pointer || reflect.ValueOf(out).IsNil() {
		return fmt.Errorf("decoding takes a non-nil pointer, not %T", out)
	}
	l := migrationLimits(lim)
	t := reflect.TypeOf(out).Elem()
	b, _, err := format.Marshal(format.Params{Target: t}, floatsFor(g, t, 0), l)
	if err != nil {
		return err
	}
	f, err := format.Parse(b, l)
	if err != nil {
		return err
	}
	return f.Decode(out)
}

// genericOf is v in the generic form a Migration receives, whatever the
// previous step returned: a value already generic is normalized in place;
// anything else (a struct) is encoded and decoded generically.
func genericOf(v any, lim *format.Limits) (any, error) {
	if isGeneric(v) {
		return normalize(v), nil
	}
	l := migrationLimits(lim)
	b, _, err := format.Marshal(format.Params{}, v, l)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	f, err := format.Parse(b, l)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	g, err := f.DecodeGenericOld()
	if err != nil {
		return nil, fmt.Errorf("decoding %T generically: %w", v, err)
	}
	return normalize(g), nil
}

// isGeneric reports whether v is made only of what a generic decode
// gives: maps, slices of any, numbers, strings, bytes, bools and times.
func isGeneric(v any) bool {
	switch x := v.(type) {
	case nil, bool, string, []byte, time.Time,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return true
	case []any:
		for _, e := range x {
			if !isGeneric(e) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, e := range x {
			if !isGeneric(e) {
				return false
			}
		}
		return true
	case map[any]any:
		for k, e := range x {
			if !isGeneric(k) || !isGeneric(e) {
				return false
			}
		}
		return true
	}
	return false
}

// floatsFor returns a copy of the generic value g in which every float
// that becomes a float32 in t (the type it is decoded into) is a float32:
// the generic form widens floats to float64, and msgpack decodes a
// float64 into a float32 field as malformed. Values held in interfaces
// keep their float64, as a save decoded without migration has them.
func floatsFor(g any, t reflect.Type, depth int) any {
	if depth > maxWalkDepth {
		return g
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch x := g.(type) {
	case float64:
		if t.Kind() == reflect.Float32 {
			return float32(x)
		}
		return x
	case []any:
		if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = floatsFor(e, t.Elem(), depth+1)
		}
		return out
	case map[string]any:
		var field func(k string) (reflect.Type, bool)
		switch t.Kind() {
		case reflect.Map:
			field = func(string) (reflect.Type, bool) { return t.Elem(), true }
		case reflect.Struct:
			fields := map[string]reflect.StructField{}
			structFieldsByName(t, fields, map[reflect.Type]bool{})
			field = func(k string) (reflect.Type, bool) {
				f, ok := fields[k]
				return f.Type, ok
			}
		default:
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			if ft, ok := field(k); ok {
				out[k] = floatsFor(e, ft, depth+1)
			} else {
				out[k] = e
			}
		}
		return out
	case map[any]any:
		if t.Kind() != reflect.Map {
			return x
		}
		out := make(map[any]any, len(x))
		for k, e := range x {
			out[k] = floatsFor(e, t.Elem(), depth+1)
		}
		return out
	}
	return g
}

// maxWalkDepth bounds the walks over a generic value beside a type; a
// save holds nothing deeper than its nesting limit.
const maxWalkDepth = 1024

// mismatch words err, a failure to decode an intact save into T, as a
// type mismatch naming the field and both types when it can find them.
// A save over the limits stays what it is (ErrTooLarge).
func mismatch[T any](f *format.File, err error) error {
	if errors.Is(err, format.ErrTooLarge) {
		return err
	}
	t := reflect.TypeFor[T]()
	// Within the store's limits (the file was read with them): a world
	// whose generic form is over them is not searched.
	if g, gerr := f.DecodeGeneric(); gerr == nil {
		root := t.Name()
		if root == "" {
			root = "the world"
		}
		if where := findMismatch(normalize(g), t, root, 0); where != "" {
			return fmt.Errorf("%w: %s", ErrTypeMismatch, where)
		}
	}
	return fmt.Errorf("%w: it does not decode into %s: %w", ErrTypeMismatch, t, err)
}

// findMismatch walks a save's generic form g beside the type t it is
// decoded into, and describes the first place where g cannot become its
// part of t; "" when it finds none. Containers are walked by the type;
// each leaf (a number, string, bytes, a time, a value of a type with its
// own decoder) is tried alone as msgpack decodes it, so the walk costs
// about one small encode and decode per leaf, whatever the depth.
func findMismatch(g any, t reflect.Type, path string, depth int) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if g == nil || t.Kind() == reflect.Interface || depth > maxWalkDepth {
		return ""
	}
	if t == reflect.TypeFor[time.Time]() || ownCode(t) {
		return leafMismatch(g, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := g.(map[string]any)
		if !ok {
			return leafMismatch(g, t, path)
		}
		fields := map[string]reflect.StructField{}
		structFieldsByName(t, fields, map[reflect.Type]bool{})
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if f, ok := fields[k]; ok {
				if w := findMismatch(m[k], f.Type, path+"."+f.Name, depth+1); w != "" {
					return w
				}
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		s, ok := g.([]any)
		if !ok {
			return leafMismatch(g, t, path) // bytes, a string into []byte, or a mismatch
		}
		if t.Kind() == reflect.Array && len(s) > t.Len() {
			return fmt.Sprintf("%s: the save holds %d elements, the game's type %s holds %d", path, len(s), t, t.Len())
		}
		for i, e := range s {
			if w := findMismatch(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1); w != "" {
				return w
			}
		}
		return ""
	case reflect.Map:
		switch m := g.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if w := leafMismatch(k, t.Key(), fmt.Sprintf("%s key %q", path, k)); w != "" {
					return w
				}
				if w := findMismatch(m[k], t.Elem(), fmt.Sprintf("%s[%q]", path, k), depth+1); w != "" {
					return w
				}
			}
			return ""
		case map[any]any:
			for k, e := range m {
				if w := leafMismatch(k, t.Key(), fmt.Sprintf("%s key %v", path, k)); w != "" {
					return w
				}
				if w := findMismatch(e, t.Elem(), fmt.Sprintf("%s[%v]", path, k), depth+1); w != "" {
					return w
				}
			}
			return ""
		}
	}
	return leafMismatch(g, t, path)
}

// leafMismatch describes g, a part of a save, if it does not decode into a
// t alone; "" if it does.
func leafMismatch(g any, t reflect.Type, path string) string {
	if fits(g, t) {
		return ""
	}
	return fmt.Sprintf("%s: the save holds %s, the game's type is %s", path, describeGeneric(g), t)
}

// fits reports whether the generic value g decodes into a t as Load
// decodes a save. A scalar is encoded and decoded by msgpack directly (its
// bytes are this function's own, a handful); anything else goes the way
// of a save's body.
func fits(g any, t reflect.Type) (ok bool) {
	switch g.(type) {
	case bool, string, []byte, time.Time, int64, uint64, float64:
	default:
		return decodeValue(g, reflect.New(t).Interface(), nil) == nil
	}
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	b, err := msgpack.Marshal(floatsFor(g, t, 0))
	return err == nil && msgpack.Unmarshal(b, reflect.New(t).Interface()) == nil
}

// structFieldsByName collects t's fields by the name msgpack encodes them
// under: the msgpack tag's name, else the field's, with untagged embedded
// structs inlined.
func structFieldsByName(t reflect.Type, into map[string]reflect.StructField, seen map[reflect.Type]bool) {
	if seen[t] {
		return // an embedded struct that embeds itself through a pointer
	}
	seen[t] = true
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("msgpack")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if f.Anonymous && name == "" && ft.Kind() == reflect.Struct {
			structFieldsByName(ft, into, seen)
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := into[name]; !dup {
			into[name] = f
		}
	}
}

// describeGeneric names a generic value's kind for a message, with the
// value itself when it is short.
func describeGeneric(g any) string {
	switch x := g.(type) {
	case string:
		if len(x) <= 32 {
			return fmt.Sprintf("a string (%q)", x)
		}
		return "a string"
	case int64, uint64:
		return fmt.Sprintf("an integer (%d)", x)
	case float64:
		return fmt.Sprintf("a float (%g)", x)
	case bool:
		return fmt.Sprintf("a bool (%v)", x)
	case []any:
		return fmt.Sprintf("an array of %d", len(x))
	case map[string]any, map[any]any:
		return "a map"
	case []byte:
		return "bytes"
	}
	return fmt.Sprintf("a %T", g)
}
