package format

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/zeebo/xxh3"
)

// File is a save file whose checksums and structure have been verified.
// Meta and Body are the raw msgpack sections, safe to decode.
type File struct {
	Header Header
	Meta   []byte // the metadata map, msgpack
	Body   []byte // the body, msgpack

	// Set by Parse: see guardReader.
	verified               bool
	metaGuards, bodyGuards []int64
	lim                    Limits // the limits it was read under; zero fields mean defaults
}

// checkLengths checks the header's declared lengths against the limits and
// the actual file size, before anything is allocated for them.
func checkLengths(h *Header, size int64, l *Limits) error {
	if int64(h.MetaLen) > l.MaxMeta {
		return errorf(ErrTooLarge, "metadata length", offMetaLen, "%d bytes exceeds the limit of %d", h.MetaLen, l.MaxMeta)
	}
	if h.BodyLen > uint64(l.MaxBody) {
		return errorf(ErrTooLarge, "body length", offBodyLen, "%d bytes exceeds the limit of %d", h.BodyLen, l.MaxBody)
	}
	if want := h.Size(); size < want {
		return errorf(ErrTruncated, "file", size, "file has %d bytes, its header declares %d", size, want)
	} else if size > want {
		return errorf(ErrMalformed, "file", want, "%d bytes after the end the header declares", size-want)
	}
	return nil
}

// validateWhole checks that b is exactly one msgpack value within maxDepth,
// every declared length fitting in b. base is b's offset in the file. It
// leaves in v.guards the offsets the decoder must guard (see guardReader).
func validateWhole(what string, base int64, b []byte, maxDepth int, v *validator) error {
	v.reset(what, base, int64(len(b)), maxDepth)
	v.record = true
	if _, err := v.Write(b); err != nil {
		return err
	}
	return v.Close()
}

// verifyMeta checks the metadata section alone: checksum, then structure,
// which must be a map.
func verifyMeta(h *Header, meta []byte, maxDepth int, v *validator) error {
	if got := xxh3.Hash(meta); got != h.MetaSum {
		return errorf(ErrChecksum, "metadata checksum", offMetaSum, "stored %#016x, computed %#016x over the metadata", h.MetaSum, got)
	}
	if len(meta) == 0 {
		return nil
	}
	if c := meta[0]; !(c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf) {
		return errorf(ErrMalformed, "metadata", h.MetaOffset(), "code %#02x is not a map", c)
	}
	return validateWhole("metadata", h.MetaOffset(), meta, maxDepth, v)
}

// Parse verifies a whole save file held in b: header, lengths, both
// checksums, and the structure of metadata and body. The returned File
// aliases b.
func Parse(b []byte, lim *Limits) (*File, error) {
	l := lim.resolve()
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if err := checkLengths(&h, int64(len(b)), &l); err != nil {
		return nil, err
	}
	payload := b[h.MetaOffset():]
	if got := xxh3.Hash128(payload); got.Hi != h.Sum.Hi || got.Lo != h.Sum.Lo {
		return nil, errorf(ErrChecksum, "payload checksum", offSumLo, "stored %016x%016x, computed %016x%016x over metadata and body", h.Sum.Hi, h.Sum.Lo, got.Hi, got.Lo)
	}
	f := &File{Header: h, Meta: payload[:h.MetaLen], Body: payload[h.MetaLen:], verified: true, lim: l}
	var v validator
	if err := verifyMeta(&h, f.Meta, l.MaxDepth, &v); err != nil {
		return nil, err
	}
	f.metaGuards = v.guards
	if err := validateWhole("body", h.BodyOffset(), f.Body, l.MaxDepth, &v); err != nil {
		return nil, err
	}
	f.bodyGuards = v.guards
	return f, nil
}

// Read reads the size-byte file r and verifies it as Parse does. It reads
// the header first and checks every declared length against size and lim
// before it allocates for the rest.
func Read(r io.ReaderAt, size int64, lim *Limits) (*File, error) {
	l := lim.resolve()
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	if err := checkLengths(&h, size, &l); err != nil {
		return nil, err
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return Parse(b, lim)
}

// ReadMeta reads and verifies only the header and the metadata, for load
// menus: the body is neither read nor checked. size is the file's length;
// a file shorter than its header declares is reported as ErrTruncated.
func ReadMeta(r io.ReaderAt, size int64, lim *Limits) (Header, map[string]any, error) {
	l := lim.resolve()
	h, err := ReadHeader(r)
	if err != nil {
		return h, nil, err
	}
	if err := checkLengths(&h, size, &l); err != nil {
		return h, nil, err
	}
	meta := make([]byte, h.MetaLen)
	if _, err := r.ReadAt(meta, h.MetaOffset()); err != nil && err != io.EOF {
		return h, nil, err
	}
	var v validator
	if err := verifyMeta(&h, meta, l.MaxDepth, &v); err != nil {
		return h, nil, err
	}
	m, err := decodeMeta(&h, meta, &l)
	return h, m, err
}

// verifyChunk is the read size of Verify.
const verifyChunk = 256 << 10

// Verify checks a whole save file as Read does, streaming it through a
// fixed-size buffer: it never holds the body, so it suits large files and
// tools that only report.
func Verify(r io.ReaderAt, size int64, lim *Limits) (Header, error) {
	l := lim.resolve()
	h, err := ReadHeader(r)
	if err != nil {
		return h, err
	}
	if err := checkLengths(&h, size, &l); err != nil {
		return h, err
	}
	meta := make([]byte, h.MetaLen)
	if _, err := r.ReadAt(meta, h.MetaOffset()); err != nil && err != io.EOF {
		return h, err
	}
	var v validator
	hash := xxh3.New()
	_, _ = hash.Write(meta)
	v.reset("body", h.BodyOffset(), int64(h.BodyLen), l.MaxDepth)
	buf := make([]byte, verifyChunk)
	var structErr error
	for off := h.BodyOffset(); off < size; {
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		if _, err := r.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return h, err
		}
		_, _ = hash.Write(buf[:n])
		if structErr == nil {
			_, structErr = v.Write(buf[:n])
		}
		off += n
	}
	// The checksum decides first: a torn file is damaged, not malformed.
	if got := hash.Sum128(); got.Hi != h.Sum.Hi || got.Lo != h.Sum.Lo {
		return h, errorf(ErrChecksum, "payload checksum", offSumLo, "stored %016x%016x, computed %016x%016x over metadata and body", h.Sum.Hi, h.Sum.Lo, got.Hi, got.Lo)
	}
	if structErr == nil {
		structErr = v.Close()
	}
	if err := verifyMeta(&h, meta, l.MaxDepth, &v); err != nil {
		return h, err
	}
	return h, structErr
}

// decodeState is a pooled msgpack decoder with its guarded reader.
type decodeState struct {
	dec  *msgpack.Decoder
	r    guardReader
	what string // "body" or "metadata", for errors
	base int64  // file offset of the document
	maps func(*msgpack.Decoder) (any, error)
}

var decodePool = sync.Pool{New: func() any {
	s := &decodeState{dec: msgpack.NewDecoder(nil)}
	s.maps = s.decodeMap
	return s
}}

// decoder returns a pooled decoder reading b, with msgpack's default
// settings except for maps decoded into an interface, which the generic
// decoder reads (see generic.go). Release it with putDecoder.
//
// Not UsePreallocateValues: in msgpack v5.4.1 it starts, for every type it
// decodes, a goroutine that never stops, filling a channel with new values.
// (msgpack.Unmarshal sets it and then clears it again with Reset, so plain
// Unmarshal runs without it too.)
func decoder(what string, base int64, b []byte, guards []int64) *decodeState {
	s := decodePool.Get().(*decodeState)
	s.what, s.base = what, base
	s.r.reset(b, guards)
	s.dec.Reset(&s.r)
	s.dec.SetMapDecoder(s.maps)
	return s
}

func putDecoder(s *decodeState) {
	s.r.reset(nil, nil)
	s.dec.Reset(nil)
	decodePool.Put(s)
}

// decodeMap is msgpack's map decoder for interface values: msgpack has
// just put back the map's first byte, so the map starts at the reader's
// position, and the generic decoder reads it from there.
func (s *decodeState) decodeMap(*msgpack.Decoder) (any, error) {
	w := walker{b: s.r.b, i: s.r.pos, base: s.base, what: s.what}
	v, err := w.value()
	if err != nil {
		return nil, w.errorFor(err)
	}
	s.r.pos = w.i
	return v, nil
}

// decodeError is the error for a failed decode: the generic decoder's own
// *Error as it is, msgpack's wrapped in one.
func decodeError(field string, offset int64, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Field: field, Offset: offset, Detail: err.Error(), Err: ErrMalformed}
}

// ensureVerified validates the sections of a File that did not come from
// Parse or Read, so that msgpack never sees unchecked bytes.
func (f *File) ensureVerified() error {
	if f.verified {
		return nil
	}
	var v validator
	if len(f.Meta) > 0 {
		if err := validateWhole("metadata", f.Header.MetaOffset(), f.Meta, DefaultMaxDepth, &v); err != nil {
			return err
		}
		f.metaGuards = v.guards
	}
	if err := validateWhole("body", f.Header.BodyOffset(), f.Body, DefaultMaxDepth, &v); err != nil {
		return err
	}
	f.bodyGuards = v.guards
	f.verified = true
	return nil
}

// Decode decodes the verified body into v, which must be a non-nil pointer.
// Fields the body has and v's type lacks are skipped; fields v's type has
// and the body lacks are left as they are. Into a nil interface (a *any),
// and wherever v's type has an interface that receives a map, values are
// decoded as DecodeGeneric decodes them. A body whose decoding into v's
// type would allocate more than the Limits it was read under allow is
// refused with ErrTooLarge before anything is decoded (see checkAlloc).
func (f *File) Decode(v any) (err error) {
	if err := f.ensureVerified(); err != nil {
		return err
	}
	p, isAny := v.(*any)
	generic := isAny && *p == nil
	var target reflect.Type
	if t := reflect.TypeOf(v); !generic && t != nil && t.Kind() == reflect.Pointer {
		target = t.Elem()
	}
	if isAny && *p != nil {
		// msgpack decodes into what a pointer in the interface points
		// to, and replaces any other value with a generic decode.
		target = nil
		if t := reflect.TypeOf(*p); t.Kind() == reflect.Pointer {
			target = t.Elem()
		}
	}
	if err := f.checkAlloc(target); err != nil {
		return err
	}
	if generic {
		g, err := decodeGeneric("body", f.Header.BodyOffset(), f.Body)
		if err != nil {
			return err
		}
		*p = g
		return nil
	}
	s := decoder("body", f.Header.BodyOffset(), f.Body, f.bodyGuards)
	defer putDecoder(s)
	defer recoverDecode("body", f.Header.BodyOffset(), &err)
	if err := s.dec.Decode(v); err != nil {
		return decodeError("body", f.Header.BodyOffset(), err)
	}
	return nil
}

// checkAlloc reports whether decoding the body into a value of type t (nil
// or an interface type: as DecodeGeneric decodes it) stays within the
// allocation bound of the Limits the file was read under, and returns
// ErrTooLarge when it would not. Decode and DecodeGeneric make this check
// first; it builds no values.
func (f *File) checkAlloc(t reflect.Type) error {
	if err := f.ensureVerified(); err != nil {
		return err
	}
	l := f.lim.resolve()
	return checkBudget("body", f.Header.BodyOffset(), f.Body, planFor(t), typeName(t), &l)
}

// recoverDecode turns a panic inside msgpack's decoder into ErrMalformed.
// msgpack v5.4.1 panics on some valid documents decoded into some types
// (nil into a time.Time field calls reflect.Value.IsNil on a struct); the
// validator cannot know the target type, so a hostile file could otherwise
// crash the game at load. Fatal runtime errors are not panics and are not
// recovered; the validator prevents those.
func recoverDecode(field string, offset int64, err *error) {
	if r := recover(); r != nil {
		*err = &Error{Field: field, Offset: offset, Detail: fmt.Sprintf("decoder panicked: %v", r), Err: ErrMalformed}
	}
}

// DecodeMeta decodes the verified metadata map.
func (f *File) DecodeMeta() (map[string]any, error) {
	if err := f.ensureVerified(); err != nil {
		return nil, err
	}
	l := f.lim.resolve()
	return decodeMeta(&f.Header, f.Meta, &l)
}

func decodeMeta(h *Header, meta []byte, l *Limits) (map[string]any, error) {
	if len(meta) == 0 {
		return map[string]any{}, nil
	}
	if err := checkBudget("metadata", h.MetaOffset(), meta, genericPlan, "a map", l); err != nil {
		return nil, err
	}
	v, err := decodeGeneric("metadata", h.MetaOffset(), meta)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(ErrMalformed, "metadata", h.MetaOffset(), "a key of the metadata map is not a string")
	}
	return m, nil
}

// DecodeGeneric decodes the verified body with no knowledge of the game's
// types, for tools and migrations: maps with only string keys become
// map[string]any, other maps map[any]any (a bin key becomes a string; a
// key that is an array or a map is an error, as Go cannot hold it);
// integers keep the width they were stored with (int8 ... uint64, a
// positive fixint being int8); float32 stays float32; bin becomes []byte;
// the timestamp extension becomes time.Time.
func (f *File) DecodeGeneric() (any, error) {
	if err := f.checkAlloc(nil); err != nil {
		return nil, err
	}
	return decodeGeneric("body", f.Header.BodyOffset(), f.Body)
}

// GenericMaxExpansion bounds what a generic decode is estimated to
// allocate per body byte, whatever the body: a map of one pair, the
// costliest value per byte, takes two bytes and about 380 bytes of Go
// map and boxed key (191x); a map of repeated keys is estimated at up to
// about 200x for the room its declared count would grow to.
const GenericMaxExpansion = 256

// DecodeGenericOld is DecodeGeneric for a save written under an older
// schema, decoded for a migration: it is bounded at GenericMaxExpansion
// times the body (plus the slack) rather than by Limits.MaxExpansion. The
// writer proved the body against the type of its day, not against a
// generic decode, which costs more (a struct becomes a map); refusing it
// here would lose a save that was acknowledged.
func (f *File) DecodeGenericOld() (any, error) {
	if err := f.ensureVerified(); err != nil {
		return nil, err
	}
	l := f.lim.resolve()
	l.MaxExpansion = max(l.MaxExpansion, GenericMaxExpansion)
	if err := checkBudget("body", f.Header.BodyOffset(), f.Body, genericPlan, "any", &l); err != nil {
		return nil, err
	}
	return decodeGeneric("body", f.Header.BodyOffset(), f.Body)
}
