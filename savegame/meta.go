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

	"github.com/savekit/savekit/format"
)

// Meta is a save's metadata as List and Load return it: the map, or the
// struct's fields by name, given to Save in SaveOptions.Meta, with values
// in their generic form (see Migration): integers as int64 (uint64 only
// above math.MaxInt64), floats as float64, strings, bools, []byte,
// time.Time, []any and Meta-shaped map[string]any. Decode turns it back
// into the game's own metadata type.
type Meta map[string]any

// Decode decodes the metadata into *v, the way Load decodes a save into
// the game's type: v is usually a pointer to the struct the game gives
// Save as SaveOptions.Meta, so a load menu gets its fields typed.
func (m Meta) Decode(v any) error {
	if m == nil {
		return nil
	}
	b, err := format.MarshalBody(map[string]any(m))
	if err != nil {
		return fmt.Errorf("savegame: decode metadata: %w", err)
	}
	if err := decodeLikeLoad(b, v); err != nil {
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
// int64 (uint64 above math.MaxInt64), every float float64, and every map
// whose keys are all strings a map[string]any.
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
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
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
		b, err := format.MarshalBody(g)
		if err != nil {
			return nil, fmt.Errorf("re-encoding the save for %s: %w", reflect.TypeFor[Old](), err)
		}
		var old Old
		if err := decodeLikeLoad(b, &old); err != nil {
			return nil, fmt.Errorf("the save does not decode into %s: %w", reflect.TypeFor[Old](), err)
		}
		nv, err := f(old)
		if err != nil {
			return nil, err
		}
		return genericOf(nv)
	}
}

// genericOf is v's encoding decoded generically and normalized: what a
// Migration receives, whatever the previous step returned.
func genericOf(v any) (any, error) {
	b, err := format.MarshalBody(v)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", v, err)
	}
	g, err := (&format.File{Body: b}).DecodeGeneric()
	if err != nil {
		return nil, fmt.Errorf("decoding %T generically: %w", v, err)
	}
	return normalize(g), nil
}

// mismatch words err, a failure to decode an intact save into T, as a
// type mismatch naming the field and both types when it can find them.
// A save over the limits stays what it is (ErrTooLarge).
func mismatch[T any](f *format.File, err error) error {
	if errors.Is(err, format.ErrTooLarge) {
		return err
	}
	t := reflect.TypeFor[T]()
	if g, gerr := f.DecodeGenericOld(); gerr == nil {
		root := t.Name()
		if root == "" {
			root = "the world"
		}
		if where := findMismatch(normalize(g), t, root); where != "" {
			return fmt.Errorf("%w: %s", ErrTypeMismatch, where)
		}
	}
	return fmt.Errorf("%w: it does not decode into %s: %w", ErrTypeMismatch, t, err)
}

// findMismatch walks a save's generic form g beside the type t it is
// decoded into and describes the first place where g cannot become a t;
// "" when it finds none.
func findMismatch(g any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if g == nil || t.Kind() == reflect.Interface {
		return ""
	}
	bad := func() string {
		return fmt.Sprintf("%s: the save holds %s, the game's type is %s", path, describeGeneric(g), t)
	}
	if t == reflect.TypeFor[time.Time]() {
		if _, ok := g.(time.Time); !ok {
			return bad()
		}
		return ""
	}
	switch t.Kind() {
	case reflect.Bool:
		if _, ok := g.(bool); !ok {
			return bad()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		switch n := g.(type) {
		case int64:
			if reflect.New(t).Elem().OverflowInt(n) {
				return fmt.Sprintf("%s: the save holds %d, which does not fit the game's type %s", path, n, t)
			}
		case uint64:
			return fmt.Sprintf("%s: the save holds %d, which does not fit the game's type %s", path, n, t)
		default:
			return bad()
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		switch n := g.(type) {
		case int64:
			if n < 0 || reflect.New(t).Elem().OverflowUint(uint64(n)) {
				return fmt.Sprintf("%s: the save holds %d, which does not fit the game's type %s", path, n, t)
			}
		case uint64:
		default:
			return bad()
		}
	case reflect.Float32, reflect.Float64:
		switch g.(type) {
		case float64, int64, uint64:
		default:
			return bad()
		}
	case reflect.String:
		switch g.(type) {
		case string, []byte:
		default:
			return bad()
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			switch g.(type) {
			case []byte, string:
				return ""
			}
		}
		s, ok := g.([]any)
		if !ok {
			return bad()
		}
		if t.Kind() == reflect.Array && len(s) > t.Len() {
			return fmt.Sprintf("%s: the save holds %d elements, the game's type %s holds %d", path, len(s), t, t.Len())
		}
		for i, e := range s {
			if w := findMismatch(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); w != "" {
				return w
			}
		}
	case reflect.Map:
		switch m := g.(type) {
		case map[string]any:
			for _, k := range slices.Sorted(maps.Keys(m)) {
				if w := findMismatch(m[k], t.Elem(), fmt.Sprintf("%s[%q]", path, k)); w != "" {
					return w
				}
			}
		case map[any]any:
			for k, e := range m {
				if w := findMismatch(e, t.Elem(), fmt.Sprintf("%s[%v]", path, k)); w != "" {
					return w
				}
			}
		default:
			return bad()
		}
	case reflect.Struct:
		m, ok := g.(map[string]any)
		if !ok {
			if _, isArr := g.([]any); isArr {
				return "" // an array-encoded struct: not walked
			}
			return bad()
		}
		fields := map[string]reflect.StructField{}
		structFieldsByName(t, fields)
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if f, ok := fields[k]; ok {
				if w := findMismatch(m[k], f.Type, path+"."+f.Name); w != "" {
					return w
				}
			}
		}
	}
	return ""
}

// structFieldsByName collects t's fields by the name msgpack encodes them
// under: the msgpack tag's name, else the field's, with untagged embedded
// structs inlined.
func structFieldsByName(t reflect.Type, into map[string]reflect.StructField) {
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
			structFieldsByName(ft, into)
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
