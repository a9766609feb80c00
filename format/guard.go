package format

import (
	"errors"
	"io"
	"math"
)

// guardReader is the reader msgpack decodes verified bytes from. It is
// bytes.Reader with one refusal, which closes a hole no validator can close.
//
// msgpack v5.4.1's DecodeMapLen, used whenever the target is a map, skips an
// extension header and reads the extension's payload as a map header; its
// callers then make(map, n) with that n unchecked. A timestamp's payload is
// arbitrary bytes and may start with 0xdf followed by a huge count, so a
// file that puts a timestamp where the game's type has a map would kill the
// process with a fatal out-of-memory. The validator cannot reject those
// timestamps: valid times have such payloads (about 0.4% of nanosecond
// values). But the two paths read differently: decoding a time takes the
// payload in one Read, while DecodeMapLen takes its first byte with
// ReadByte. So the validator records where such payloads start, and a
// ReadByte at one of those offsets fails before msgpack allocates. Every
// extension payload is guarded, not only those starting with 0xde/0xdf:
// a payload starting with a fixmap or nil code would make msgpack read
// the bytes after it as tokens the validator never saw as such.
type guardReader struct {
	b      []byte
	pos    int
	guards []int64 // sorted payload offsets
	next   int     // guards[gi], or MaxInt when none is left
	gi     int
}

var errExtAsContainer = errors.New("an extension's payload read as a map header")

func (r *guardReader) reset(b []byte, guards []int64) {
	r.b, r.pos, r.guards, r.gi = b, 0, guards, 0
	r.next = math.MaxInt
	if len(guards) > 0 {
		r.next = int(guards[0])
	}
}

func (r *guardReader) ReadByte() (byte, error) {
	if r.pos >= r.next {
		for r.next < r.pos {
			r.gi++
			r.next = math.MaxInt
			if r.gi < len(r.guards) {
				r.next = int(r.guards[r.gi])
			}
		}
		if r.pos == r.next {
			return 0, errExtAsContainer
		}
	}
	if r.pos >= len(r.b) {
		return 0, io.EOF
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *guardReader) UnreadByte() error {
	if r.pos <= 0 {
		return errors.New("format: UnreadByte at the start")
	}
	r.pos--
	return nil
}

func (r *guardReader) Read(p []byte) (int, error) {
	if r.pos >= len(r.b) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, r.b[r.pos:])
	r.pos += n
	return n, nil
}
