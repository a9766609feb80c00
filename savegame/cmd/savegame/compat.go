package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"

	"github.com/savekit/savekit/format"
)

// The type check of edit and import. The CLI knows no game's types, so it
// takes the slot's current save as the description of the type the game
// decodes into, and refuses a new body that this type would not load: a
// value whose kind the game's decoder does not accept where the old one
// was, or a field the old save had and the new one lacks. The rule is
// docs/modding.md's "What edit and import refuse"; compat_test.go checks
// each case against a real typed decode.

// kind is what the check tells apart in a msgpack value.
type kind uint8

const (
	kindNull kind = iota
	kindBool
	kindInt // every width, signed or not: msgpack decodes any into any integer field
	kindFloat32
	kindFloat64
	kindString
	kindBinary
	kindTime
	kindExt // an extension other than a time; shape.ext is its type
	kindArray
	kindObject
)

var kindNames = [...]string{"null", "boolean", "integer", "float32", "float64", "string", "binary", "time", "extension", "array", "object"}

func (k kind) String() string { return kindNames[k] }

// loads reports whether a field the game decoded an old value into
// accepts a new value: the same kind, or one msgpack converts. An integer
// goes into a float field and a float32 into a float64 one, but not the
// other way; strings and binary go into each other's fields.
func loads(old, new kind) bool {
	switch {
	case old == new:
		return true
	case old == kindFloat32:
		return new == kindInt
	case old == kindFloat64:
		return new == kindInt || new == kindFloat32
	case old == kindString:
		return new == kindBinary
	case old == kindBinary:
		return new == kindString
	}
	return false
}

// shape is what the old save says about the values at one path. Every
// element of an array merges into one shape, as a Go slice has one element
// type; values of kinds that disagree make the place mixed (the game's
// type there is an interface, which loads anything).
type shape struct {
	kind     kind
	ext      int8 // kindExt: the extension's type
	nullable bool // a null was seen here: the game's type accepts one
	mixed    bool
	known    bool            // a value other than null was seen
	elem     *shape          // kindArray: every element merged; nil if all were empty
	keys     map[string]*key // kindObject: each key seen
	order    []string        // keys in the order first seen, for stable messages
	objects  int             // kindObject: how many objects merged here
}

// key is an object key seen in the old save: how often (a key every
// merged object had may not be removed), its label, its values' shape.
type key struct {
	label string
	seen  int // objects that had it
	last  int // the last object (by count) that had it
	shape *shape
}

// errShape is a document the walker cannot read; the CLI only walks
// documents format has verified or msgjson has built.
var errShape = errors.New("type check: malformed document")

// peekKind classifies the next value of d without consuming it.
func peekKind(d *msgpack.Decoder) (kind, error) {
	c, err := d.PeekCode()
	if err != nil {
		return 0, err
	}
	switch {
	case c == msgpcode.Nil:
		return kindNull, nil
	case c == msgpcode.False || c == msgpcode.True:
		return kindBool, nil
	case msgpcode.IsFixedNum(c) || c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		return kindInt, nil
	case c == msgpcode.Float:
		return kindFloat32, nil
	case c == msgpcode.Double:
		return kindFloat64, nil
	case msgpcode.IsString(c):
		return kindString, nil
	case msgpcode.IsBin(c):
		return kindBinary, nil
	case msgpcode.IsExt(c):
		return kindExt, nil
	case msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32:
		return kindArray, nil
	case msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32:
		return kindObject, nil
	}
	return 0, fmt.Errorf("%w: code %#x", errShape, c)
}

// extType consumes an extension and returns its type (-1 is a time).
func extType(d *msgpack.Decoder) (int8, error) {
	raw, err := d.DecodeRaw()
	if err != nil {
		return 0, err
	}
	// The type follows the code and, for ext 8/16/32, the length.
	at := map[byte]int{msgpcode.Ext8: 2, msgpcode.Ext16: 3, msgpcode.Ext32: 5}[raw[0]]
	if at == 0 {
		at = 1
	}
	if len(raw) <= at {
		return 0, errShape
	}
	return int8(raw[at]), nil
}

// readKey consumes an object key and returns what identifies it (string
// and binary keys alike, integers whatever their width) and how a path
// shows it.
func readKey(d *msgpack.Decoder) (id, label string, err error) {
	k, err := peekKind(d)
	if err != nil {
		return "", "", err
	}
	switch k {
	case kindString, kindBinary:
		b, err := d.DecodeBytes()
		if err != nil {
			return "", "", err
		}
		return "s" + string(b), fieldLabel(string(b)), nil
	case kindInt, kindBool, kindFloat32, kindFloat64, kindNull:
		v, err := d.DecodeInterface()
		if err != nil {
			return "", "", err
		}
		s := fmt.Sprint(v)
		return k.String()[:1] + s, "[" + s + "]", nil
	}
	raw, err := d.DecodeRaw()
	if err != nil {
		return "", "", err
	}
	return "r" + string(raw), "[" + k.String() + " key]", nil
}

// fieldLabel is how jq names a field: .Name, or ."odd name".
func fieldLabel(name string) string {
	ident := name != ""
	for i, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return "." + name
	}
	return "." + strconv.Quote(name)
}

// add merges the next value of d, the old document, into s.
func (s *shape) add(d *msgpack.Decoder, depth int) error {
	if depth > format.DefaultMaxDepth {
		return fmt.Errorf("%w: nested deeper than %d", errShape, format.DefaultMaxDepth)
	}
	k, err := peekKind(d)
	if err != nil {
		return err
	}
	if k == kindNull {
		s.nullable = true
		return d.Skip()
	}
	if s.mixed {
		return d.Skip()
	}
	var ext int8
	if k == kindExt {
		if ext, err = extType(d); err != nil {
			return err
		}
		if ext == -1 {
			k = kindTime
		}
	}
	if s.known && (s.kind != k || s.ext != ext) {
		// Values of two kinds at one place: the game's type there is
		// an interface. Forget what was learnt below it.
		s.mixed, s.elem, s.keys, s.order = true, nil, nil, nil
		if k == kindExt || k == kindTime {
			return nil
		}
		return d.Skip()
	}
	s.kind, s.ext, s.known = k, ext, true
	switch k {
	case kindArray:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return err
		}
		for range n {
			if s.elem == nil {
				s.elem = &shape{}
			}
			if err := s.elem.add(d, depth+1); err != nil {
				return err
			}
		}
		return nil
	case kindObject:
		n, err := d.DecodeMapLen()
		if err != nil {
			return err
		}
		if s.keys == nil {
			s.keys = map[string]*key{}
		}
		s.objects++
		for range n {
			id, label, err := readKey(d)
			if err != nil {
				return err
			}
			kk := s.keys[id]
			if kk == nil {
				kk = &key{label: label, shape: &shape{}}
				s.keys[id] = kk
				s.order = append(s.order, id)
			}
			// A key repeated within one object counts once.
			if kk.last != s.objects {
				kk.seen, kk.last = kk.seen+1, s.objects
			}
			if err := kk.shape.add(d, depth+1); err != nil {
				return err
			}
		}
		return nil
	case kindExt, kindTime:
		return nil
	}
	return d.Skip()
}

// typeChange is one place where the new body would not load as the old.
type typeChange struct {
	Path     string
	Old, New string // kinds; New is "" for a removed field
}

func (c typeChange) String() string {
	if c.New == "" {
		return fmt.Sprintf("%s: removed (it was %s)", c.Path, c.Old)
	}
	msg := fmt.Sprintf("%s: was %s, now %s", c.Path, c.Old, c.New)
	if c.Old == "float32" && c.New == "float64" {
		msg += ` (write {"$float32": ...} to keep it a float32)`
	}
	return msg
}

func (s *shape) describe() string {
	switch s.kind {
	case kindExt:
		return fmt.Sprintf("extension %d", s.ext)
	}
	return s.kind.String()
}

// checker walks the new document against the old one's shape.
type checker struct {
	r       *bytes.Reader // what d reads, to know where it is
	size    int
	changes []typeChange
	floats  []intAsFloat
}

// intAsFloat is an integer of the new document where the old save had a
// float: it loads, but is written as the float the game writes (jq turns
// 2.0 into 2), so that the save keeps the game's types.
type intAsFloat struct {
	at, end int
	to      kind
	v       float64
}

func (c *checker) pos() int { return c.size - c.r.Len() }

// rewrite returns body with each integer in c.floats as its float.
func (c *checker) rewrite(body []byte) []byte {
	if len(c.floats) == 0 {
		return body
	}
	out := make([]byte, 0, len(body)+8*len(c.floats))
	last := 0
	for _, f := range c.floats {
		out = append(out, body[last:f.at]...)
		if f.to == kindFloat32 {
			out = append(out, msgpcode.Float)
			out = binary.BigEndian.AppendUint32(out, math.Float32bits(float32(f.v)))
		} else {
			out = append(out, msgpcode.Double)
			out = binary.BigEndian.AppendUint64(out, math.Float64bits(f.v))
		}
		last = f.end
	}
	return append(out, body[last:]...)
}

func (c *checker) check(s *shape, d *msgpack.Decoder, path string, depth int) error {
	if depth > format.DefaultMaxDepth {
		return fmt.Errorf("%w: nested deeper than %d", errShape, format.DefaultMaxDepth)
	}
	if s == nil || s.mixed || !s.known {
		// Nothing known here (a new field, elements of arrays that were
		// all empty), an interface, or only nulls: anything loads.
		return d.Skip()
	}
	k, err := peekKind(d)
	if err != nil {
		return err
	}
	var ext int8
	switch k {
	case kindNull:
		if !s.nullable {
			// A null decodes as the zero value, losing what was there,
			// and into a time.Time msgpack panics.
			c.changes = append(c.changes, typeChange{path, s.describe(), "null"})
		}
		return d.Skip()
	case kindExt:
		if ext, err = extType(d); err != nil {
			return err
		}
		if ext == -1 {
			k = kindTime
		}
		if !loads(s.kind, k) || k == kindExt && s.ext != ext {
			nk := &shape{kind: k, ext: ext}
			c.changes = append(c.changes, typeChange{path, s.describe(), nk.describe()})
		}
		return nil
	}
	if !loads(s.kind, k) {
		c.changes = append(c.changes, typeChange{path, s.describe(), k.String()})
		return d.Skip()
	}
	if k == kindInt && (s.kind == kindFloat32 || s.kind == kindFloat64) {
		at := c.pos()
		v, err := d.DecodeInterface()
		if err != nil {
			return err
		}
		f := intAsFloat{at: at, end: c.pos(), to: s.kind}
		switch rv := reflect.ValueOf(v); rv.Kind() {
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.v = float64(rv.Int())
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.v = float64(rv.Uint())
		default:
			return fmt.Errorf("%w: integer decoded as %T", errShape, v)
		}
		c.floats = append(c.floats, f)
		return nil
	}
	switch k {
	case kindArray:
		n, err := d.DecodeArrayLen()
		if err != nil {
			return err
		}
		for i := range n {
			if err := c.check(s.elem, d, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case kindObject:
		n, err := d.DecodeMapLen()
		if err != nil {
			return err
		}
		present := make(map[string]bool, len(s.keys))
		for range n {
			id, label, err := readKey(d)
			if err != nil {
				return err
			}
			kk := s.keys[id]
			var sub *shape
			if kk != nil {
				present[id] = true
				sub = kk.shape
			} else {
				kk = &key{label: label}
			}
			if err := c.check(sub, d, join(path, kk.label), depth+1); err != nil {
				return err
			}
		}
		for _, id := range s.order {
			kk := s.keys[id]
			// A key only some old objects had is optional (omitempty,
			// or a map's own keys); one that all had is a field.
			if kk.seen == s.objects && !present[id] {
				old := "null"
				if kk.shape.known {
					old = kk.shape.describe()
				}
				c.changes = append(c.changes, typeChange{Path: join(path, kk.label), Old: old})
			}
		}
		return nil
	}
	return d.Skip()
}

// join appends a field's label to a path; the root is ".".
func join(path, label string) string {
	if path == "." {
		if label[0] == '[' {
			return "." + label
		}
		return label
	}
	return path + label
}

// checkBody compares newBody with the type oldBody was saved from. It
// lists where newBody would not load: each value of another kind, each
// removed field. It returns newBody with each integer where oldBody had a
// float written as that float. oldBody must be a verified save's body;
// newBody one msgjson built.
func checkBody(oldBody, newBody []byte) ([]byte, []typeChange, error) {
	var root shape
	d := msgpack.NewDecoder(bytes.NewReader(oldBody))
	if err := root.add(d, 0); err != nil {
		return nil, nil, fmt.Errorf("the current save: %w", err)
	}
	c := checker{r: bytes.NewReader(newBody), size: len(newBody)}
	// A bytes.Reader is read directly, unbuffered, so c.pos is exact.
	d = msgpack.NewDecoder(c.r)
	if err := c.check(&root, d, ".", 0); err != nil {
		return nil, nil, fmt.Errorf("the new body: %w", err)
	}
	if c.r.Len() != 0 {
		return nil, nil, fmt.Errorf("%w: %d bytes after the body", errShape, c.r.Len())
	}
	return c.rewrite(newBody), c.changes, nil
}
