package format

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// This file is the type-blind decoder: what DecodeMeta, DecodeGeneric and
// Decode into an interface produce, and what maps msgpack meets inside a
// typed value's interface fields become. It walks bytes the validator has
// accepted, so every length it reads fits in the document.
//
// msgpack's own generic decoding is not used for two reasons. It decodes
// every map as map[string]any, failing on the integer, boolean or float
// keys its encoder writes for map[int]T and the like. And it sizes each map
// by the count the document declares: a 16 MiB map of eight million pairs
// that all repeat one key becomes a one-entry map after msgpack has
// allocated room for eight million (about 640 MiB). Here a map grows with
// the entries it really gets.
//
// The values are those msgpack's DecodeInterface gives, so callers and
// migrations see what they always saw: nil, bool, int8..int64 and
// uint8..uint64 at the width stored (a positive fixint is int8), float32,
// float64, string, []byte, time.Time (in time.Local, as msgpack decodes
// it), []any, and maps.
//
// Maps: map[string]any when every key is a string, else map[any]any. A bin
// key becomes a string key (Go's []byte cannot be a map key; msgpack
// encodes [N]byte keys as bin, and decodes a string back into [N]byte). An
// array or a map cannot be a Go map key at all: such a key is an error
// naming where it is, and the writer refuses metadata holding one (see
// checkMeta). When a key repeats, the later pair wins.

// genericMapHint caps the room made for a map before its entries are
// read: a map of up to 8 entries fits the one group Go allocates for any
// non-empty map, and a larger one grows as its distinct keys arrive, so a
// declared count that repeats one key costs nothing.
const genericMapHint = 8

// walker reads one msgpack value from validated bytes.
type walker struct {
	b    []byte
	i    int
	base int64  // file offset of b[0], for errors
	what string // "body" or "metadata", for errors
}

// emptyArray is every empty array's value: a slice with no room cannot be
// written through, so sharing one is safe and saves 24 bytes each.
var emptyArray any = []any{}

// shortStrings holds the boxed strings of one byte, which arrays of short
// strings repeat; boxing them anew would cost 16 bytes each.
var shortStrings = func() (t [256]any) {
	for c := range t {
		t[c] = string([]byte{byte(c)})
	}
	return t
}()

// keyError is an unusable map key found under path (outermost first).
type keyError struct {
	at   int      // offset of the key in the walked bytes
	kind string   // what the key is: "an array", "a map"
	path []string // the containers' keys or indices, innermost last
}

func (e *keyError) Error() string { return "key " + e.kind + " cannot be a Go map key" }

// errorFor turns a walk error into the package's *Error.
func (w *walker) errorFor(err error) error {
	if ke, ok := err.(*keyError); ok {
		where := "at the top level"
		if len(ke.path) > 0 {
			var sb strings.Builder
			for i := len(ke.path) - 1; i >= 0; i-- {
				sb.WriteString(ke.path[i])
			}
			where = "in the map at " + strings.TrimPrefix(sb.String(), ".")
		}
		return &Error{Field: w.what, Offset: w.base + int64(ke.at), Err: ErrMalformed,
			Detail: fmt.Sprintf("a map key %s is %s, which cannot be a Go map key (decoded without the game's types)", where, ke.kind)}
	}
	if e, ok := err.(*Error); ok {
		return e
	}
	return &Error{Field: w.what, Offset: w.base + int64(w.i), Detail: err.Error(), Err: ErrMalformed}
}

func (w *walker) n(size int) uint64 {
	p := w.b[w.i : w.i+size]
	w.i += size
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v
}

func (w *walker) bytes(n uint64) []byte {
	p := w.b[w.i : w.i+int(n)]
	w.i += int(n)
	return p
}

// containerLen reports whether the value at w.i is an array or a map and
// its count, consuming the head when it is.
func (w *walker) containerLen() (isMap, isArray bool, n int) {
	c := w.b[w.i]
	switch {
	case c >= 0x80 && c <= 0x8f:
		w.i++
		return true, false, int(c & 0x0f)
	case c >= 0x90 && c <= 0x9f:
		w.i++
		return false, true, int(c & 0x0f)
	case c == 0xdc || c == 0xdd:
		w.i++
		return false, true, int(w.n(2 << (c - 0xdc)))
	case c == 0xde || c == 0xdf:
		w.i++
		return true, false, int(w.n(2 << (c - 0xde)))
	}
	return false, false, 0
}

// value decodes one value.
func (w *walker) value() (any, error) {
	if isMap, isArray, n := w.containerLen(); isMap {
		return w.mapBody(n)
	} else if isArray {
		if n == 0 {
			return emptyArray, nil
		}
		// Each element takes at least one byte: a count beyond what is
		// left is a body the validator should have refused, never an
		// allocation.
		if n > len(w.b)-w.i {
			return nil, fmt.Errorf("an array of %d elements with %d bytes left", n, len(w.b)-w.i)
		}
		a := make([]any, n)
		for k := range a {
			v, err := w.value()
			if err != nil {
				return nil, inPath(err, "["+strconv.Itoa(k)+"]")
			}
			a[k] = v
		}
		return a, nil
	}
	return w.scalar()
}

// scalar decodes one value that is not a container.
func (w *walker) scalar() (any, error) {
	c := w.b[w.i]
	w.i++
	switch {
	case c <= 0x7f || c >= 0xe0:
		return int8(c), nil
	case c >= 0xa0 && c <= 0xbf:
		return w.str(uint64(c & 0x1f)), nil
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		p := w.bytes(w.n(1 << (c - 0xc4)))
		return append([]byte{}, p...), nil
	case 0xca:
		return math.Float32frombits(uint32(w.n(4))), nil
	case 0xcb:
		return math.Float64frombits(w.n(8)), nil
	case 0xcc:
		return uint8(w.n(1)), nil
	case 0xcd:
		return uint16(w.n(2)), nil
	case 0xce:
		return uint32(w.n(4)), nil
	case 0xcf:
		return w.n(8), nil
	case 0xd0:
		return int8(w.n(1)), nil
	case 0xd1:
		return int16(w.n(2)), nil
	case 0xd2:
		return int32(w.n(4)), nil
	case 0xd3:
		return int64(w.n(8)), nil
	case 0xd9, 0xda, 0xdb:
		return w.str(w.n(1 << (c - 0xd9))), nil
	case 0xd6, 0xd7, 0xc7:
		return w.timestamp(c)
	}
	return nil, fmt.Errorf("code %#02x has no generic form (only the timestamp extension is allowed)", c)
}

func (w *walker) str(n uint64) any {
	p := w.bytes(n)
	switch len(p) {
	case 0:
		return ""
	case 1:
		return shortStrings[p[0]]
	}
	return string(p)
}

// timestamp decodes the timestamp extension as msgpack v5.4.1 does.
func (w *walker) timestamp(c byte) (any, error) {
	n := uint64(4)
	switch c {
	case 0xd7:
		n = 8
	case 0xc7:
		n = w.n(1)
	}
	if typ := int8(w.b[w.i]); typ != -1 {
		return nil, fmt.Errorf("extension type %d has no generic form", typ)
	}
	w.i++
	p := w.bytes(n)
	var t time.Time
	switch n {
	case 4:
		t = time.Unix(int64(binary.BigEndian.Uint32(p)), 0)
	case 8:
		v := binary.BigEndian.Uint64(p)
		t = time.Unix(int64(v&0x00000003ffffffff), int64(v>>34))
	case 12:
		t = time.Unix(int64(binary.BigEndian.Uint64(p[4:])), int64(binary.BigEndian.Uint32(p)))
	default:
		return nil, fmt.Errorf("timestamp of %d bytes", n)
	}
	if t.IsZero() {
		t = t.UTC() // as msgpack: the zero time has no zone
	}
	return t, nil
}

// mapBody decodes the n pairs of a map. The map is made for the kind of
// its first key, so a map whose keys are all integers never holds a
// map[string]any it then drops.
func (w *walker) mapBody(n int) (any, error) {
	var strs map[string]any
	var anys map[any]any
	for i := range n {
		k, err := w.key()
		if err != nil {
			return nil, err
		}
		v, err := w.value()
		if err != nil {
			return nil, inPath(err, keySegment(k))
		}
		s, isStr := k.(string)
		switch {
		case i == 0 && isStr:
			strs = make(map[string]any, min(n, genericMapHint))
		case i == 0:
			anys = make(map[any]any, min(n, genericMapHint))
		case strs != nil && !isStr:
			anys = make(map[any]any, max(len(strs)+1, genericMapHint))
			for s, v := range strs {
				anys[s] = v
			}
			strs = nil
		}
		if strs != nil {
			strs[s] = v
		} else {
			anys[k] = v
		}
	}
	if anys != nil {
		return anys, nil
	}
	if strs == nil {
		return map[string]any{}, nil
	}
	return strs, nil
}

// key decodes a map key: a scalar, with bin as string.
func (w *walker) key() (any, error) {
	at := w.i
	c := w.b[at]
	switch {
	case c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf:
		return nil, &keyError{at: at, kind: "a map"}
	case c >= 0x90 && c <= 0x9f || c == 0xdc || c == 0xdd:
		return nil, &keyError{at: at, kind: "an array"}
	case c >= 0xc4 && c <= 0xc6:
		w.i++
		return string(w.bytes(w.n(1 << (c - 0xc4)))), nil
	}
	return w.scalar()
}

// check walks one value without building it, failing as value would.
func (w *walker) check() error {
	isMap, isArray, n := w.containerLen()
	switch {
	case isArray:
		for k := range n {
			if err := w.check(); err != nil {
				return inPath(err, "["+strconv.Itoa(k)+"]")
			}
		}
		return nil
	case isMap:
		for range n {
			keyAt := w.i
			if _, err := w.key(); err != nil {
				return err
			}
			if err := w.check(); err != nil {
				k, _ := (&walker{b: w.b, i: keyAt}).key()
				return inPath(err, keySegment(k))
			}
		}
		return nil
	}
	_, err := w.scalar()
	return err
}

// inPath records that err happened under the container element seg.
func inPath(err error, seg string) error {
	if ke, ok := err.(*keyError); ok {
		ke.path = append(ke.path, seg)
	}
	return err
}

// keySegment renders a map key as one step of a path: .name for a string
// key that reads as a name, [key] for any other.
func keySegment(k any) string {
	if s, ok := k.(string); ok {
		if s != "" && !strings.ContainsAny(s, ".[]\"\\ \t\n") && strconv.CanBackquote(s) {
			return "." + s
		}
		return "[" + strconv.Quote(s) + "]"
	}
	return fmt.Sprintf("[%v]", k)
}

// decodeGeneric decodes the validated document b (at file offset base).
func decodeGeneric(what string, base int64, b []byte) (v any, err error) {
	defer recoverDecode(what, base, &err)
	w := walker{b: b, base: base, what: what}
	v, err = w.value()
	if err != nil {
		return nil, w.errorFor(err)
	}
	if w.i != len(b) {
		return nil, errorf(ErrMalformed, what, base+int64(w.i), "%d bytes after the value", len(b)-w.i)
	}
	return v, nil
}

// CheckGeneric reports whether the msgpack document doc, as MarshalBody or
// Encode would write it, decodes without the game's types: validated as a
// body is, and with every map key something a Go map can hold (not an
// array or a map). It builds no values, so it allocates almost nothing.
// The error, a *Error wrapping ErrMalformed, names the map holding the
// offending key, e.g. `in the map at scores[2]`.
//
// A store whose values are decoded generically (a Store[any]) calls it
// before it acknowledges a save; Encode calls it on the metadata.
func CheckGeneric(doc []byte) error {
	return checkGeneric("body", 0, doc, DefaultMaxDepth)
}

func checkGeneric(what string, base int64, doc []byte, maxDepth int) (err error) {
	var v validator
	if err := validateWhole(what, base, doc, maxDepth, &v); err != nil {
		return err
	}
	return checkKeys(what, base, doc)
}

// checkKeys is the walk of checkGeneric over a validated document.
func checkKeys(what string, base int64, doc []byte) (err error) {
	if len(doc) == 0 {
		return nil
	}
	defer recoverDecode(what, base, &err)
	w := walker{b: doc, base: base, what: what}
	if err := w.check(); err != nil {
		return w.errorFor(err)
	}
	return nil
}

// checkMeta reports whether meta, as Encode would write it under lim,
// reads back: within the metadata limit, valid, and decodable by
// DecodeMeta (see CheckGeneric for what that excludes). Encode refuses
// such metadata with this error.
func checkMeta(meta map[string]any, lim *Limits) error {
	l := lim.resolve()
	b, err := encodeMeta(meta)
	if err != nil {
		return err
	}
	if int64(len(b)) > l.MaxMeta {
		return errorf(ErrTooLarge, "metadata", -1, "%d bytes exceeds the limit of %d", len(b), l.MaxMeta)
	}
	return checkGeneric("metadata", HeaderSize, b, l.MaxDepth)
}
