package slots

import (
	"encoding/binary"
	"fmt"

	"github.com/zeebo/xxh3"
)

// The pointer file NAME.ptr is the commit record: which slot file holds the
// committed save. It is one 64-byte record, little-endian, inside the first
// 512-byte sector, so a power cut during its update leaves the old record,
// the new one, or bytes its checksum rejects:
//
//	0   8  magic "SAVEKPTR"
//	8   2  version, 1
//	10  1  slot, 0 or 1
//	11  5  reserved, zero
//	16  8  generation of the committed save
//	24  8  size of the slot file's container
//	32  8  header checksum of that container (binds the pointer to one file)
//	40  16 reserved, zero
//	56  8  xxh3-64 of bytes 0..55
const (
	pointerMagic   = "SAVEKPTR"
	pointerVersion = 1
	pointerSize    = 64
)

type pointer struct {
	Slot       int
	Generation uint64
	Size       int64
	HeaderSum  uint64
}

func (p pointer) marshal() []byte {
	b := make([]byte, pointerSize)
	copy(b, pointerMagic)
	le := binary.LittleEndian
	le.PutUint16(b[8:], pointerVersion)
	b[10] = byte(p.Slot)
	le.PutUint64(b[16:], p.Generation)
	le.PutUint64(b[24:], uint64(p.Size))
	le.PutUint64(b[32:], p.HeaderSum)
	le.PutUint64(b[56:], xxh3.Hash(b[:56]))
	return b
}

// parsePointer validates a pointer record; each broken field has its own
// message, as a support thread needs it.
func parsePointer(b []byte) (pointer, error) {
	var p pointer
	if len(b) != pointerSize {
		return p, fmt.Errorf("pointer is %d bytes, want %d", len(b), pointerSize)
	}
	le := binary.LittleEndian
	if string(b[:8]) != pointerMagic {
		return p, fmt.Errorf("pointer magic at offset 0 is % x, want % x", b[:8], pointerMagic)
	}
	if sum := xxh3.Hash(b[:56]); sum != le.Uint64(b[56:]) {
		return p, fmt.Errorf("pointer checksum at offset 56: stored %#016x, computed %#016x", le.Uint64(b[56:]), sum)
	}
	if v := le.Uint16(b[8:]); v != pointerVersion {
		return p, fmt.Errorf("pointer version at offset 8 is %d, want %d", v, pointerVersion)
	}
	if b[10] > 1 {
		return p, fmt.Errorf("pointer slot at offset 10 is %d, want 0 or 1", b[10])
	}
	p.Slot = int(b[10])
	p.Generation = le.Uint64(b[16:])
	p.Size = int64(le.Uint64(b[24:]))
	p.HeaderSum = le.Uint64(b[32:])
	return p, nil
}

// Pointer is a decoded pointer record, for tools.
type Pointer struct {
	Slot       int    // 0 or 1
	Generation uint64 // of the committed save
	Size       int64  // of its container
	HeaderSum  uint64 // its header checksum
}

// ParsePointer decodes and checks the contents of a NAME.ptr file.
func ParsePointer(b []byte) (Pointer, error) {
	p, err := parsePointer(b)
	return Pointer(p), err
}
