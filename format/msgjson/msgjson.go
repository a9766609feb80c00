// Package msgjson converts msgpack documents to JSON and back without
// losing anything savekit writes, for tools that show saves to people and
// let them edit them.
//
// The JSON form:
//
//	nil, booleans, arrays        null, true, false, [...]
//	integers                     a JSON integer: 42, -7, 18446744073709551615
//	float64                      a JSON number with a point or exponent: 1.0, 2.5e+30
//	float32                      {"$float32": 1.5}
//	float NaN and infinities     {"$float64": "NaN"}, {"$float32": "-Inf"}
//	strings                      a JSON string; not valid UTF-8: {"$string": "<base64>"}
//	binary                       {"$bin": "<base64>"}
//	timestamps                   {"$time": "2026-11-21T10:30:00.000000006Z"}
//	maps with string keys        a JSON object, keys in the file's order
//	other maps                   {"$map": [[key, value], ...]} (also when a key starts with "$")
//
// ToJSON then FromJSON gives back the same values; for a document savekit
// wrote (smallest integer forms, as its encoder makes them), the same
// bytes. ToJSON expects a document format has validated (Parse, Read);
// FromJSON bounds its input's nesting like the format does.
package msgjson

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxDepth bounds nesting on both sides, like format.DefaultMaxDepth.
const MaxDepth = 256

// ToJSON writes the msgpack document doc as indented JSON to w. The JSON
// is streamed through a fixed buffer: its size, which indentation can make
// far larger than doc, costs no memory, and ToJSON allocates a fixed
// amount whatever doc holds. On an error, w may have received part of the
// JSON.
func ToJSON(w io.Writer, doc []byte) error {
	out := bufio.NewWriterSize(w, 64<<10)
	r := reader{b: doc, discard: bufio.NewWriterSize(io.Discard, 512)}
	if err := r.value(out, 0); err != nil {
		return err
	}
	if r.i != len(doc) {
		return fmt.Errorf("msgjson: %d bytes after the value at offset %d", len(doc)-r.i, r.i)
	}
	out.WriteByte('\n')
	return out.Flush()
}

type reader struct {
	b []byte
	i int
	// skipping is set while skip passes over a value: maps then need no
	// look-ahead for their form, which keeps a document's walk linear in
	// its size times its depth instead of doubling at every nested map.
	skipping bool
	values   int           // values walked, rendered or skipped: the work done
	discard  *bufio.Writer // where skip renders
}

var errShort = errors.New("msgjson: document ends inside a value")

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.i < n {
		return nil, errShort
	}
	p := r.b[r.i : r.i+n]
	r.i += n
	return p, nil
}

func (r *reader) uint(n int) (uint64, error) {
	p, err := r.take(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range p {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// spaces is the indentation written for nesting, two spaces a level.
var spaces = strings.Repeat(" ", 2*(MaxDepth+2))

func newline(out *bufio.Writer, depth int) {
	out.WriteByte('\n')
	out.WriteString(spaces[:2*min(depth, MaxDepth+1)])
}

func (r *reader) value(out *bufio.Writer, depth int) error {
	r.values++
	if depth > MaxDepth {
		return fmt.Errorf("msgjson: nesting deeper than %d at offset %d", MaxDepth, r.i)
	}
	at := r.i
	cb, err := r.take(1)
	if err != nil {
		return err
	}
	c := cb[0]
	switch {
	case c <= 0x7f:
		out.WriteString(strconv.FormatUint(uint64(c), 10))
		return nil
	case c >= 0xe0:
		out.WriteString(strconv.FormatInt(int64(int8(c)), 10))
		return nil
	case c >= 0x80 && c <= 0x8f:
		return r.mapBody(out, int(c&0x0f), depth)
	case c >= 0x90 && c <= 0x9f:
		return r.arrayBody(out, int(c&0x0f), depth)
	case c >= 0xa0 && c <= 0xbf:
		return r.str(out, int(c&0x1f))
	}
	switch c {
	case 0xc0:
		out.WriteString("null")
	case 0xc2:
		out.WriteString("false")
	case 0xc3:
		out.WriteString("true")
	case 0xc4, 0xc5, 0xc6:
		n, err := r.uint(1 << (c - 0xc4))
		if err != nil {
			return err
		}
		p, err := r.take(int(n))
		if err != nil {
			return err
		}
		writeBase64(out, `{"$bin": "`, p)
	case 0xca:
		v, err := r.uint(4)
		if err != nil {
			return err
		}
		f := math.Float32frombits(uint32(v))
		out.WriteString(`{"$float32": `)
		writeFloat(out, float64(f), 32)
		out.WriteByte('}')
	case 0xcb:
		v, err := r.uint(8)
		if err != nil {
			return err
		}
		f := math.Float64frombits(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			out.WriteString(`{"$float64": `)
			writeFloat(out, f, 64)
			out.WriteByte('}')
		} else {
			writeFloat(out, f, 64)
		}
	case 0xcc, 0xcd, 0xce, 0xcf:
		v, err := r.uint(1 << (c - 0xcc))
		if err != nil {
			return err
		}
		out.WriteString(strconv.FormatUint(v, 10))
	case 0xd0, 0xd1, 0xd2, 0xd3:
		n := 1 << (c - 0xd0)
		v, err := r.uint(n)
		if err != nil {
			return err
		}
		shift := 64 - 8*n
		out.WriteString(strconv.FormatInt(int64(v<<shift)>>shift, 10))
	case 0xd9, 0xda, 0xdb:
		n, err := r.uint(1 << (c - 0xd9))
		if err != nil {
			return err
		}
		return r.str(out, int(n))
	case 0xdc, 0xdd:
		n, err := r.uint(2 << (c - 0xdc))
		if err != nil {
			return err
		}
		return r.arrayBody(out, int(n), depth)
	case 0xde, 0xdf:
		n, err := r.uint(2 << (c - 0xde))
		if err != nil {
			return err
		}
		return r.mapBody(out, int(n), depth)
	case 0xd6, 0xd7, 0xc7:
		return r.timestamp(out, c, at)
	default:
		return fmt.Errorf("msgjson: code %#02x at offset %d has no JSON form (only the timestamp extension is allowed)", c, at)
	}
	return nil
}

func (r *reader) timestamp(out *bufio.Writer, c byte, at int) error {
	n := map[byte]int{0xd6: 4, 0xd7: 8}[c]
	if c == 0xc7 {
		l, err := r.uint(1)
		if err != nil {
			return err
		}
		n = int(l)
	}
	typ, err := r.take(1)
	if err != nil {
		return err
	}
	p, err := r.take(n)
	if err != nil {
		return err
	}
	if int8(typ[0]) != -1 {
		return fmt.Errorf("msgjson: extension type %d at offset %d has no JSON form", int8(typ[0]), at)
	}
	var sec int64
	var nsec int64
	switch n {
	case 4:
		sec = int64(binary.BigEndian.Uint32(p))
	case 8:
		v := binary.BigEndian.Uint64(p)
		nsec, sec = int64(v>>34), int64(v&(1<<34-1))
	case 12:
		nsec, sec = int64(binary.BigEndian.Uint32(p)), int64(binary.BigEndian.Uint64(p[4:]))
	default:
		return fmt.Errorf("msgjson: timestamp of %d bytes at offset %d", n, at)
	}
	fmt.Fprintf(out, `{"$time": %q}`, time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano))
	return nil
}

func (r *reader) str(out *bufio.Writer, n int) error {
	p, err := r.take(n)
	if err != nil {
		return err
	}
	if utf8.Valid(p) {
		writeJSONString(out, p)
	} else {
		writeBase64(out, `{"$string": "`, p)
	}
	return nil
}

func (r *reader) arrayBody(out *bufio.Writer, n int, depth int) error {
	if n == 0 {
		out.WriteString("[]")
		return nil
	}
	if n > len(r.b)-r.i {
		return errShort
	}
	out.WriteByte('[')
	for k := range n {
		if k > 0 {
			out.WriteByte(',')
		}
		newline(out, depth+1)
		if err := r.value(out, depth+1); err != nil {
			return err
		}
	}
	newline(out, depth)
	out.WriteByte(']')
	return nil
}

// mapBody writes a map as an object when every key is a string that does
// not start with "$", else in the tagged pair form.
func (r *reader) mapBody(out *bufio.Writer, n int, depth int) error {
	if n == 0 {
		out.WriteString("{}")
		return nil
	}
	if 2*n > len(r.b)-r.i {
		return errShort
	}
	if r.skipping {
		for range 2 * n {
			if err := r.value(out, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	start := r.i
	plain := true
	for range n {
		k, isStr, err := r.peekStringKey()
		if err != nil {
			return err
		}
		if !isStr || len(k) > 0 && k[0] == '$' {
			plain = false
			break
		}
		if err := r.skip(depth + 1); err != nil {
			return err
		}
	}
	r.i = start
	if plain {
		out.WriteByte('{')
		for k := range n {
			if k > 0 {
				out.WriteByte(',')
			}
			newline(out, depth+1)
			if err := r.value(out, depth+1); err != nil { // the key
				return err
			}
			out.WriteString(": ")
			if err := r.value(out, depth+1); err != nil {
				return err
			}
		}
		newline(out, depth)
		out.WriteByte('}')
		return nil
	}
	out.WriteString(`{"$map": [`)
	for k := range n {
		if k > 0 {
			out.WriteByte(',')
		}
		newline(out, depth+2)
		out.WriteByte('[')
		if err := r.value(out, depth+2); err != nil {
			return err
		}
		out.WriteString(", ")
		if err := r.value(out, depth+2); err != nil {
			return err
		}
		out.WriteByte(']')
	}
	newline(out, depth)
	out.WriteString("]}")
	return nil
}

// peekStringKey reads a key if it is a valid UTF-8 string, else leaves the
// position after it (the caller resets). The key aliases the document.
func (r *reader) peekStringKey() ([]byte, bool, error) {
	if r.i >= len(r.b) {
		return nil, false, errShort
	}
	c := r.b[r.i]
	var n uint64
	var err error
	switch {
	case c >= 0xa0 && c <= 0xbf:
		r.i++
		n = uint64(c & 0x1f)
	case c >= 0xd9 && c <= 0xdb:
		r.i++
		if n, err = r.uint(1 << (c - 0xd9)); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, nil
	}
	p, err := r.take(int(n))
	if err != nil {
		return nil, false, err
	}
	return p, utf8.Valid(p), nil
}

// skip passes over one value.
func (r *reader) skip(depth int) error {
	r.skipping = true
	defer func() { r.skipping = false }()
	return r.value(r.discard, depth)
}

func writeFloat(out *bufio.Writer, f float64, bits int) {
	switch {
	case math.IsNaN(f):
		out.WriteString(`"NaN"`)
	case math.IsInf(f, 1):
		out.WriteString(`"+Inf"`)
	case math.IsInf(f, -1):
		out.WriteString(`"-Inf"`)
	default:
		s := strconv.FormatFloat(f, 'g', -1, bits)
		if !strings.ContainsAny(s, ".eEn") {
			s += ".0"
		}
		out.WriteString(s)
	}
}

// writeJSONString writes the valid UTF-8 string s as a JSON string, escaped
// as encoding/json escapes it with SetEscapeHTML(false).
func writeJSONString(out *bufio.Writer, s []byte) {
	const hex = "0123456789abcdef"
	out.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			out.Write(s[start:i])
			switch c {
			case '"', '\\':
				out.WriteByte('\\')
				out.WriteByte(c)
			case '\b':
				out.WriteString(`\b`)
			case '\f':
				out.WriteString(`\f`)
			case '\n':
				out.WriteString(`\n`)
			case '\r':
				out.WriteString(`\r`)
			case '\t':
				out.WriteString(`\t`)
			default:
				out.WriteString(`\u00`)
				out.WriteByte(hex[c>>4])
				out.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' {
			// JavaScript line terminators, escaped as encoding/json does.
			out.Write(s[start:i])
			out.WriteString(`\u202`)
			out.WriteByte(hex[r&0xf])
			start = i + size
		}
		i += size
	}
	out.Write(s[start:])
	out.WriteByte('"')
}

// writeBase64 writes prefix, p in standard base64, and `"}`.
func writeBase64(out *bufio.Writer, prefix string, p []byte) {
	out.WriteString(prefix)
	enc := base64.NewEncoder(base64.StdEncoding, out)
	_, _ = enc.Write(p)
	_ = enc.Close()
	out.WriteString(`"}`)
}
