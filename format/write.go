package format

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"reflect"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/zeebo/xxh3"
)

// Params are the caller's choices for a new save.
type Params struct {
	Schema     uint32         // the game's data version
	Generation uint64         // the save's generation
	Created    time.Time      // zero means time.Now()
	Meta       map[string]any // small msgpack map for load menus; nil for none

	// Target is the type a reader decodes the body into (Decode(&x) with
	// x of type Target). The writer refuses a body whose decoding into
	// it would allocate more than the Limits allow, as the reader would.
	// nil means the body's own type (what a pointer points to), and for
	// a msgpack.RawMessage, a generic decode.
	Target reflect.Type
}

// target returns the plan and the name of what body is decoded into.
func (p *Params) target(body any) (*plan, string) {
	t := p.Target
	if t == nil {
		t = reflect.TypeOf(body)
		switch {
		case t == rawMessageType:
			t = nil
		case t != nil && t.Kind() == reflect.Pointer:
			t = t.Elem()
		}
	}
	return planFor(t), typeName(t)
}

// configureEncoder applies the encoding every savekit body and metadata map
// uses. docs/format.md says why: structs as maps keyed by field name (a save
// outlives the struct's field order), sorted map keys (the same value gives
// the same bytes), compact integers (smaller files at the same speed).
func configureEncoder(enc *msgpack.Encoder) {
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
}

// MarshalBody encodes v the way a save's body is encoded, for callers that
// hold an encoded body (as a msgpack.RawMessage) before a save, or that
// re-encode one.
func MarshalBody(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	configureEncoder(enc)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encodeMeta encodes a metadata map as Encode does.
func encodeMeta(meta map[string]any) ([]byte, error) {
	if meta == nil {
		meta = map[string]any{}
	}
	b, err := MarshalBody(meta)
	if err != nil {
		return nil, fmt.Errorf("format: encode metadata: %w", err)
	}
	return b, nil
}

// writeBufSize is the size of the pooled buffer between msgpack's encoder and
// the destination: large enough that a write to a file is one syscall per
// 64 KiB, small enough to keep per-save memory flat.
const writeBufSize = 64 << 10

// encodeState is the pooled machinery of one Encode call.
type encodeState struct {
	buf  *bufio.Writer
	sink bodySink
	meta bytes.Buffer
	head [HeaderSize]byte
}

var encodePool = sync.Pool{New: func() any {
	s := new(encodeState)
	s.buf = bufio.NewWriterSize(&s.sink, writeBufSize)
	s.sink.hash = xxh3.New()
	return s
}}

// bodySink receives the encoded body: it counts, hashes and validates it and
// writes it at its place in the destination.
type bodySink struct {
	dst   io.WriterAt
	off   int64
	n     int64
	max   int64
	hash  *xxh3.Hasher
	check validator
	cost  streamEstimate
	err   error // the first error Write returned, to tell it from msgpack's own
}

func (s *bodySink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.n+int64(len(p)) > s.max {
		s.err = errorf(ErrTooLarge, "body", -1, "encoded body exceeds the limit of %d bytes", s.max)
		return 0, s.err
	}
	if _, err := s.check.Write(p); err != nil {
		s.err = err
		return 0, err
	}
	s.cost.write(p)
	_, _ = s.hash.Write(p)
	n, err := s.dst.WriteAt(p, s.off+s.n)
	s.n += int64(n)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	s.err = err
	return n, err
}

// Encode writes a complete save file to dst: the header at offset 0, then
// the metadata and the body encoded from body with msgpack. The body is
// streamed through a fixed-size buffer into dst while it is checksummed, so
// no second copy of it is held; the header, which needs the lengths and
// checksums, is written last. The output is checked with the reader's own
// structure validation under lim, so Encode never produces a file that Read
// would reject. On error dst's contents are unspecified: since the header
// is written last, a file Encode started from empty is never valid, and a
// file it was overwriting reads as the old container or as damaged.
//
// dst must not hold bytes beyond the returned Header.Size(); a caller
// reusing a file truncates it to that size.
func Encode(dst io.WriterAt, p Params, body any, lim *Limits) (Header, error) {
	l := lim.resolve()
	s := encodePool.Get().(*encodeState)
	defer func() {
		s.sink.dst = nil
		if s.meta.Cap() <= 1<<20 {
			encodePool.Put(s)
		}
	}()
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)

	// Metadata: small, encoded whole so its checksum can precede the body.
	s.meta.Reset()
	enc.Reset(&s.meta)
	configureEncoder(enc)
	meta := p.Meta
	if meta == nil {
		meta = map[string]any{}
	}
	if err := enc.Encode(meta); err != nil {
		return Header{}, fmt.Errorf("format: encode metadata: %w", err)
	}
	mb := s.meta.Bytes()
	if int64(len(mb)) > l.MaxMeta {
		return Header{}, errorf(ErrTooLarge, "metadata", -1, "%d bytes exceeds the limit of %d", len(mb), l.MaxMeta)
	}
	if err := validateWhole("metadata", HeaderSize, mb, l.MaxDepth, &s.sink.check); err != nil {
		return Header{}, err
	}
	// DecodeMeta must read it back: a key no Go map can hold would make
	// the save unloadable.
	if err := checkKeys("metadata", HeaderSize, mb); err != nil {
		return Header{}, err
	}
	if err := checkBudget("metadata", HeaderSize, mb, genericPlan, "a map", &l); err != nil {
		return Header{}, err
	}
	if _, err := dst.WriteAt(mb, HeaderSize); err != nil {
		return Header{}, err
	}

	// Body: streamed.
	h := Header{
		Version:    Version,
		HeaderLen:  HeaderSize,
		Schema:     p.Schema,
		MetaLen:    uint32(len(mb)),
		Generation: p.Generation,
		Created:    p.Created,
		MetaSum:    xxh3.Hash(mb),
	}
	if h.Created.IsZero() {
		h.Created = time.Now()
	}
	sk := &s.sink
	sk.dst, sk.off, sk.n, sk.max = dst, h.BodyOffset(), 0, l.MaxBody
	sk.hash.Reset()
	_, _ = sk.hash.Write(mb)
	sk.check.reset("body", h.BodyOffset(), -1, l.MaxDepth)
	into, intoName := p.target(body)
	sk.cost.start(into, l.budget(int(l.MaxBody)))
	defer sk.cost.stop()
	s.buf.Reset(sk)
	enc.Reset(s.buf)
	configureEncoder(enc)
	sk.err = nil
	err := enc.Encode(body)
	if err == nil {
		err = s.buf.Flush()
	}
	if sk.err != nil {
		// The destination, a limit or the validator stopped the body.
		return Header{}, sk.err
	}
	if err != nil {
		return Header{}, fmt.Errorf("format: encode body: %w", err)
	}
	if err := sk.check.Close(); err != nil {
		return Header{}, err
	}
	// The reader refuses a body whose decoding would allocate more than
	// the limits allow; so does the writer, by the same estimate.
	if total, err := sk.cost.finish(); err != nil || total > l.budget(int(sk.n)) {
		return Header{}, budgetError("body", h.BodyOffset(), intoName, total, int(sk.n), &l)
	}
	h.BodyLen = uint64(sk.n)
	sum := sk.hash.Sum128()
	h.Sum = Sum128{Hi: sum.Hi, Lo: sum.Lo}

	hb, _ := h.AppendBinary(s.head[:0])
	if _, err := dst.WriteAt(hb, 0); err != nil {
		return Header{}, err
	}
	h.HeaderSum = binary.LittleEndian.Uint64(hb[HeaderSize-8:])
	h.Created = time.Unix(0, h.Created.UnixNano()).UTC()
	return h, nil
}

// EncodeFunc returns Encode of body with p as a function of the
// generation, which it sets in p: the write callback a slot store's
// commit takes (slots.Store.Commit), which picks the generation.
func EncodeFunc(p Params, body any, lim *Limits) func(dst io.WriterAt, gen uint64) (Header, error) {
	return func(dst io.WriterAt, gen uint64) (Header, error) {
		p.Generation = gen
		return Encode(dst, p, body, lim)
	}
}

// Marshal returns a complete save file in memory. It is for tools and tests;
// a game saves through Encode, which streams.
func Marshal(p Params, body any, lim *Limits) ([]byte, Header, error) {
	var b memFile
	h, err := Encode(&b, p, body, lim)
	if err != nil {
		return nil, h, err
	}
	return b.buf, h, nil
}

// memFile is a growable in-memory io.WriterAt.
type memFile struct{ buf []byte }

func (m *memFile) WriteAt(p []byte, off int64) (int, error) {
	if end := off + int64(len(p)); end > int64(len(m.buf)) {
		if end > int64(cap(m.buf)) {
			nb := make([]byte, end, 2*end)
			copy(nb, m.buf)
			m.buf = nb
		}
		m.buf = m.buf[:end]
	}
	return copy(m.buf[off:], p), nil
}
