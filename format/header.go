package format

import (
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/zeebo/xxh3"
)

// Container constants. docs/format.md specifies each byte.
const (
	// Magic is the first 8 bytes of every save file.
	Magic = "SAVEKIT\x1a"
	// Version is the container version this package writes and reads.
	Version = 1
	// HeaderSize is the length of a version 1 header. Files may declare a
	// longer header (a later revision appending fields before the header
	// checksum); readers skip what they do not know.
	HeaderSize = 80
	// MaxHeaderLen bounds the declared header length.
	MaxHeaderLen = 4096
)

// Byte offsets of the header fields, all little-endian.
const (
	offMagic      = 0
	offVersion    = 8
	offHeaderLen  = 10
	offFlags      = 12
	offSchema     = 16
	offMetaLen    = 20
	offGeneration = 24
	offCreated    = 32
	offBodyLen    = 40
	offSumLo      = 48
	offSumHi      = 56
	offMetaSum    = 64
	// The header checksum is always the last 8 bytes of the header
	// (HeaderLen-8), covering every byte before it.
)

// Sum128 is an xxh3-128 checksum. In the file it is stored as one
// little-endian 128-bit integer: Lo in the first 8 bytes, Hi in the next 8.
type Sum128 struct{ Hi, Lo uint64 }

// Header is the fixed-size start of a save file. Its own checksum
// (HeaderSum) lets a load menu trust a header read alone; Sum and MetaSum
// cover the rest of the file.
type Header struct {
	Version    uint16    // container version (Version)
	HeaderLen  uint16    // bytes before the metadata, >= HeaderSize
	Flags      uint32    // reserved; no flag is defined in version 1, so it is 0
	Schema     uint32    // the game's data version, for migrations
	MetaLen    uint32    // length of the msgpack metadata map
	Generation uint64    // the save's generation, increasing per slot
	Created    time.Time // when the save was made; stored as Unix nanoseconds, 0 for none
	BodyLen    uint64    // length of the msgpack body
	Sum        Sum128    // xxh3-128 of metadata followed by body
	MetaSum    uint64    // xxh3-64 of the metadata alone (for List without the body)
	HeaderSum  uint64    // xxh3-64 of the header bytes before it
}

// Size is the length of the whole file the header describes.
func (h *Header) Size() int64 {
	return int64(h.HeaderLen) + int64(h.MetaLen) + int64(h.BodyLen)
}

// MetaOffset is the byte offset of the metadata; the body follows it.
func (h *Header) MetaOffset() int64 { return int64(h.HeaderLen) }

// BodyOffset is the byte offset of the body.
func (h *Header) BodyOffset() int64 { return int64(h.HeaderLen) + int64(h.MetaLen) }

// AppendBinary appends the version 1 encoding of h (HeaderSize bytes) to b,
// computing HeaderSum; h.Version, h.HeaderLen and h.HeaderSum are ignored.
func (h *Header) AppendBinary(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, HeaderSize)...)
	p := b[start:]
	copy(p[offMagic:], Magic)
	le := binary.LittleEndian
	le.PutUint16(p[offVersion:], Version)
	le.PutUint16(p[offHeaderLen:], HeaderSize)
	le.PutUint32(p[offFlags:], h.Flags)
	le.PutUint32(p[offSchema:], h.Schema)
	le.PutUint32(p[offMetaLen:], h.MetaLen)
	le.PutUint64(p[offGeneration:], h.Generation)
	le.PutUint64(p[offCreated:], uint64(unixNano(h.Created)))
	le.PutUint64(p[offBodyLen:], h.BodyLen)
	le.PutUint64(p[offSumLo:], h.Sum.Lo)
	le.PutUint64(p[offSumHi:], h.Sum.Hi)
	le.PutUint64(p[offMetaSum:], h.MetaSum)
	le.PutUint64(p[HeaderSize-8:], xxh3.Hash(p[:HeaderSize-8]))
	return b, nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// ParseHeader decodes and checks the header at the start of b: magic,
// version, header length and header checksum. It trusts nothing beyond the
// header; lengths are checked against the file by the readers.
func ParseHeader(b []byte) (Header, error) {
	var h Header
	if len(b) < len(Magic) {
		if string(b) == Magic[:len(b)] {
			return h, errorf(ErrTruncated, "header", int64(len(b)), "file has %d bytes, a header needs %d", len(b), HeaderSize)
		}
		return h, errorf(ErrNotSave, "magic", 0, "file too short to be a save")
	}
	if string(b[:len(Magic)]) != Magic {
		return h, errorf(ErrNotSave, "magic", 0, "found % x, want % x", b[:len(Magic)], Magic)
	}
	if len(b) < offHeaderLen+2 {
		return h, errorf(ErrTruncated, "header", int64(len(b)), "file has %d bytes, a header needs %d", len(b), HeaderSize)
	}
	le := binary.LittleEndian
	h.Version = le.Uint16(b[offVersion:])
	if h.Version != Version {
		return h, errorf(ErrVersion, "version", offVersion, "container version %d, this reader knows %d", h.Version, Version)
	}
	h.HeaderLen = le.Uint16(b[offHeaderLen:])
	if h.HeaderLen < HeaderSize || h.HeaderLen > MaxHeaderLen || h.HeaderLen%8 != 0 {
		return h, errorf(ErrMalformed, "header length", offHeaderLen, "%d is not a multiple of 8 in [%d, %d]", h.HeaderLen, HeaderSize, MaxHeaderLen)
	}
	if len(b) < int(h.HeaderLen) {
		return h, errorf(ErrTruncated, "header", int64(len(b)), "file has %d bytes, the header alone needs %d", len(b), h.HeaderLen)
	}
	sumOff := int(h.HeaderLen) - 8
	h.HeaderSum = le.Uint64(b[sumOff:])
	if got := xxh3.Hash(b[:sumOff]); got != h.HeaderSum {
		return h, errorf(ErrChecksum, "header checksum", int64(sumOff), "stored %#016x, computed %#016x", h.HeaderSum, got)
	}
	h.Flags = le.Uint32(b[offFlags:])
	if h.Flags != 0 {
		return h, errorf(ErrVersion, "flags", offFlags, "unknown flags %#x", h.Flags)
	}
	h.Schema = le.Uint32(b[offSchema:])
	h.MetaLen = le.Uint32(b[offMetaLen:])
	h.Generation = le.Uint64(b[offGeneration:])
	if ns := int64(le.Uint64(b[offCreated:])); ns != 0 {
		h.Created = time.Unix(0, ns).UTC()
	}
	h.BodyLen = le.Uint64(b[offBodyLen:])
	h.Sum.Lo = le.Uint64(b[offSumLo:])
	h.Sum.Hi = le.Uint64(b[offSumHi:])
	h.MetaSum = le.Uint64(b[offMetaSum:])
	return h, nil
}

// ReadHeader reads and checks the header at the start of r (see
// ParseHeader). It reads only the header.
func ReadHeader(r io.ReaderAt) (Header, error) {
	buf := make([]byte, HeaderSize, MaxHeaderLen)
	n, err := r.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return Header{}, err
	}
	h, perr := ParseHeader(buf[:n])
	// ParseHeader has checked HeaderLen <= MaxHeaderLen before it reports
	// a header longer than the bytes read: read the rest and parse again.
	if errors.Is(perr, ErrTruncated) && n == HeaderSize && h.HeaderLen > HeaderSize {
		buf = buf[:h.HeaderLen]
		n, err = r.ReadAt(buf, 0)
		if err != nil && err != io.EOF {
			return Header{}, err
		}
		return ParseHeader(buf[:n])
	}
	return h, perr
}
