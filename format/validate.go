package format

import (
	"encoding/binary"
	"fmt"
)

// validator checks that a byte stream is exactly one well-formed msgpack
// value, before msgpack's decoder sees it. msgpack v5 allocates the length a
// string, bin, array or map declares before it reads the elements, and it
// recurses once per nesting level; a few hostile bytes can therefore demand
// gigabytes or overflow the stack. The validator keeps only counters: it
// rejects nesting deeper than maxDepth and, when the total length is known,
// any declared length or element count that the remaining bytes cannot hold
// (every element takes at least one byte). After it accepts a document, every
// allocation the decoder makes from a declared length is bounded by the
// document's own size.
//
// It is a streaming io.Writer so that the encoder can check what it writes
// (a save the reader would reject is never written) and readers can check a
// body without holding it.
type validator struct {
	what     string // "body" or "metadata", for errors
	base     int64  // file offset of the first byte, for errors
	off      int64  // bytes consumed so far
	total    int64  // length of the whole document, or -1 when streaming
	maxDepth int

	need  uint64   // values still to read in the innermost open container
	stack []uint64 // `need` of each enclosing container
	skip  uint64   // payload bytes of a str/bin/ext still to pass over
	part  [10]byte // a token head split across Write calls
	npart int
	done  bool
	err   error

	// guards, when record is set, collects the document offsets of
	// extension payloads; see guardReader.
	record bool
	guards []int64
}

func (v *validator) reset(what string, base, total int64, maxDepth int) {
	v.what, v.base, v.off, v.total, v.maxDepth = what, base, 0, total, maxDepth
	v.need, v.stack, v.skip, v.npart, v.done, v.err = 1, v.stack[:0], 0, 0, false, nil
	v.record, v.guards = false, nil
}

func (v *validator) fail(at int64, format string, args ...any) error {
	v.err = &Error{Field: v.what, Offset: v.base + at, Detail: fmt.Sprintf(format, args...), Err: ErrMalformed}
	return v.err
}

// headLen returns the length of the token head that starts with code c
// (code byte plus length or value bytes), or 0 for the reserved code 0xc1.
func headLen(c byte) int {
	switch {
	case c <= 0xbf || c >= 0xe0: // fixint, fixmap, fixarray, fixstr, negative fixint
		return 1
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 1
	case 0xc4, 0xd9, 0xcc, 0xd0: // bin8, str8, uint8, int8
		return 2
	case 0xc5, 0xda, 0xdc, 0xde, 0xcd, 0xd1: // bin16, str16, array16, map16, uint16, int16
		return 3
	case 0xc6, 0xdb, 0xdd, 0xdf, 0xca, 0xce, 0xd2: // bin32, str32, array32, map32, float32, uint32, int32
		return 5
	case 0xcb, 0xcf, 0xd3: // float64, uint64, int64
		return 9
	case 0xc7: // ext8: len, type
		return 3
	case 0xc8: // ext16
		return 4
	case 0xc9: // ext32
		return 6
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1/2/4/8/16: type
		return 2
	}
	return 0 // 0xc1, never used
}

// scalarSize is the whole length of a token that is a scalar of a size
// known from its first byte, and 0 for every other code.
var scalarSize = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c <= 0x7f || c >= 0xe0:
			t[c] = 1
		case c >= 0xa0 && c <= 0xbf: // fixstr
			t[c] = 1 + uint8(c&0x1f)
		}
	}
	t[0xc0], t[0xc2], t[0xc3] = 1, 1, 1             // nil, false, true
	t[0xca], t[0xcb] = 5, 9                         // float32, float64
	t[0xcc], t[0xcd], t[0xce], t[0xcf] = 2, 3, 5, 9 // uint8..uint64
	t[0xd0], t[0xd1], t[0xd2], t[0xd3] = 2, 3, 5, 9 // int8..int64
	return t
}()

func isContainer(c byte) bool { return c >= 0x80 && c <= 0x9f || c >= 0xdc && c <= 0xdf }

func isExt(c byte) bool { return c >= 0xc7 && c <= 0xc9 || c >= 0xd4 && c <= 0xd8 }

// token interprets a complete token head h (len(h) == headLen(h[0])) and
// returns the payload bytes that follow it and the element count it opens.
func token(h []byte) (payload, elems uint64) {
	c := h[0]
	be := binary.BigEndian
	switch {
	case c <= 0x7f || c >= 0xe0:
		return 0, 0
	case c <= 0x8f:
		return 0, 2 * uint64(c&0x0f)
	case c <= 0x9f:
		return 0, uint64(c & 0x0f)
	case c <= 0xbf:
		return uint64(c & 0x1f), 0
	}
	switch c {
	case 0xc4, 0xd9:
		return uint64(h[1]), 0
	case 0xc5, 0xda:
		return uint64(be.Uint16(h[1:])), 0
	case 0xc6, 0xdb:
		return uint64(be.Uint32(h[1:])), 0
	case 0xc7:
		return uint64(h[1]), 0
	case 0xc8:
		return uint64(be.Uint16(h[1:])), 0
	case 0xc9:
		return uint64(be.Uint32(h[1:])), 0
	case 0xd4:
		return 1, 0
	case 0xd5:
		return 2, 0
	case 0xd6:
		return 4, 0
	case 0xd7:
		return 8, 0
	case 0xd8:
		return 16, 0
	case 0xdc:
		return 0, uint64(be.Uint16(h[1:]))
	case 0xdd:
		return 0, uint64(be.Uint32(h[1:]))
	case 0xde:
		return 0, 2 * uint64(be.Uint16(h[1:]))
	case 0xdf:
		return 0, 2 * uint64(be.Uint32(h[1:]))
	}
	return 0, 0 // fixed-size scalars: their head is the whole value
}

// Write consumes the next bytes of the document.
func (v *validator) Write(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n := len(p)
	i := 0
	for i < len(p) {
		if v.skip > 0 {
			k := uint64(len(p) - i)
			if k > v.skip {
				k = v.skip
			}
			v.skip -= k
			i += int(k)
			continue
		}
		if v.done {
			return n, v.fail(v.off+int64(i), "%s bytes after the end of the value", "trailing")
		}
		var head []byte
		start := v.off + int64(i) - int64(v.npart)
		if v.npart > 0 {
			// Complete a head split across calls.
			want := headLen(v.part[0])
			k := copy(v.part[v.npart:want], p[i:])
			v.npart += k
			i += k
			if v.npart < want {
				break
			}
			head = v.part[:want]
			v.npart = 0
		} else {
			c := p[i]
			// Fast path: a scalar (fixint, nil, bool, number, fixstr)
			// that lies whole in p. A fixstr that fits in p fits in
			// the document, so no length check is due.
			if sz := int(scalarSize[c]); sz > 0 && sz <= len(p)-i {
				i += sz
				v.need--
				if v.need == 0 {
					v.close()
				}
				continue
			}
			hl := headLen(c)
			if hl == 0 {
				return n, v.fail(start, "reserved code 0xc1")
			}
			if len(p)-i < hl {
				v.npart = copy(v.part[:], p[i:])
				break
			}
			head = p[i : i+hl]
			i += hl
		}
		if err := v.consume(head, start, v.off+int64(i)); err != nil {
			return n, err
		}
		if v.record && isExt(head[0]) && i < len(p) {
			v.guards = append(v.guards, v.off+int64(i))
		}
	}
	v.off += int64(n)
	return n, nil
}

// consume accounts for a complete token head that starts at offset start;
// next is the offset just after the head.
func (v *validator) consume(head []byte, start, next int64) error {
	if head[0] == 0xc1 {
		return v.fail(start, "reserved code 0xc1")
	}
	payload, elems := token(head)
	if isExt(head[0]) {
		// Extensions: msgpack's decoder parses some ext payloads as
		// containers (DecodeMapLen skips an ext header), so an opaque
		// payload could smuggle lengths past this check. Version 1 allows
		// only the timestamp extension, whose payload is 4, 8 or 12 bytes.
		if typ := int8(head[len(head)-1]); typ != -1 || payload != 4 && payload != 8 && payload != 12 {
			return v.fail(start, "extension type %d with %d bytes (only the timestamp, type -1, is allowed)", typ, payload)
		}
	}
	v.need--
	if v.total >= 0 {
		remain := uint64(v.total - next)
		if payload > remain {
			return v.fail(start, "declares %d bytes but only %d remain", payload, remain)
		}
		if elems > remain {
			return v.fail(start, "declares %d elements but only %d bytes remain", elems, remain)
		}
	}
	v.skip = payload
	if isContainer(head[0]) && len(v.stack) >= v.maxDepth {
		return v.fail(start, "nesting deeper than %d", v.maxDepth)
	}
	if elems > 0 {
		v.stack = append(v.stack, v.need)
		v.need = elems
		return nil
	}
	v.close()
	return nil
}

// close pops every container that has all its elements.
func (v *validator) close() {
	for v.need == 0 {
		if len(v.stack) == 0 {
			v.done = true
			return
		}
		v.need = v.stack[len(v.stack)-1]
		v.stack = v.stack[:len(v.stack)-1]
	}
}

// Close reports whether the bytes written form exactly one complete value.
func (v *validator) Close() error {
	if v.err != nil {
		return v.err
	}
	if !v.done || v.skip > 0 || v.npart > 0 {
		return v.fail(v.off, "ends inside a value (%d open containers)", len(v.stack)+1)
	}
	return nil
}
