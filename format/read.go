package format

import (
	"fmt"
	"io"
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
	f := &File{Header: h, Meta: payload[:h.MetaLen], Body: payload[h.MetaLen:], verified: true}
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
	m, err := decodeMeta(&h, meta, v.guards)
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
	dec *msgpack.Decoder
	r   guardReader
}

var decodePool = sync.Pool{New: func() any {
	return &decodeState{dec: msgpack.NewDecoder(nil)}
}}

// decoder returns a pooled decoder reading b, with msgpack's default
// settings. Release it with putDecoder.
//
// Not UsePreallocateValues: in msgpack v5.4.1 it starts, for every type it
// decodes, a goroutine that never stops, filling a channel with new values.
// (msgpack.Unmarshal sets it and then clears it again with Reset, so plain
// Unmarshal runs without it too.)
func decoder(b []byte, guards []int64) *decodeState {
	s := decodePool.Get().(*decodeState)
	s.r.reset(b, guards)
	s.dec.Reset(&s.r)
	return s
}

func putDecoder(s *decodeState) {
	s.r.reset(nil, nil)
	s.dec.Reset(nil)
	decodePool.Put(s)
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
// and the body lacks are left as they are.
func (f *File) Decode(v any) (err error) {
	if err := f.ensureVerified(); err != nil {
		return err
	}
	s := decoder(f.Body, f.bodyGuards)
	defer putDecoder(s)
	defer recoverDecode("body", f.Header.BodyOffset(), &err)
	if err := s.dec.Decode(v); err != nil {
		return &Error{Field: "body", Offset: f.Header.BodyOffset(), Detail: err.Error(), Err: ErrMalformed}
	}
	return nil
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
	return decodeMeta(&f.Header, f.Meta, f.metaGuards)
}

func decodeMeta(h *Header, meta []byte, guards []int64) (_ map[string]any, err error) {
	m := map[string]any{}
	if len(meta) == 0 {
		return m, nil
	}
	s := decoder(meta, guards)
	defer putDecoder(s)
	defer recoverDecode("metadata", h.MetaOffset(), &err)
	dec := s.dec
	if err := dec.Decode(&m); err != nil {
		return nil, &Error{Field: "metadata", Offset: h.MetaOffset(), Detail: err.Error(), Err: ErrMalformed}
	}
	return m, nil
}

// DecodeGeneric decodes the verified body with no knowledge of the game's
// types, for tools: maps with only string keys become map[string]any, other
// maps map[any]any; integers keep the width they were stored with (int8 ...
// uint64); float32 stays float32; bin becomes []byte; the timestamp
// extension becomes time.Time.
func (f *File) DecodeGeneric() (_ any, err error) {
	if err := f.ensureVerified(); err != nil {
		return nil, err
	}
	s := decoder(f.Body, f.bodyGuards)
	defer putDecoder(s)
	defer recoverDecode("body", f.Header.BodyOffset(), &err)
	s.dec.SetMapDecoder(decodeGenericMap)
	v, err := s.dec.DecodeInterface()
	if err != nil {
		return nil, &Error{Field: "body", Offset: f.Header.BodyOffset(), Detail: err.Error(), Err: ErrMalformed}
	}
	return v, nil
}

// decodeGenericMap decodes a map keeping keys of any type: map[string]any
// when every key is a string, else map[any]any.
func decodeGenericMap(d *msgpack.Decoder) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	keys := make([]any, 0, min(n, 1024))
	vals := make([]any, 0, min(n, 1024))
	allStrings := true
	for i := 0; i < n; i++ {
		k, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		v, err := d.DecodeInterface()
		if err != nil {
			return nil, err
		}
		if _, ok := k.(string); !ok {
			allStrings = false
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	if allStrings {
		m := make(map[string]any, len(keys))
		for i, k := range keys {
			m[k.(string)] = vals[i]
		}
		return m, nil
	}
	m := make(map[any]any, len(keys))
	for i, k := range keys {
		if !isHashable(k) {
			return nil, errorf(ErrMalformed, "body", -1, "map key of type %T cannot be a Go map key", k)
		}
		m[k] = vals[i]
	}
	return m, nil
}

func isHashable(k any) bool {
	switch k.(type) {
	case []any, map[string]any, map[any]any, []byte:
		return false
	}
	return true
}
