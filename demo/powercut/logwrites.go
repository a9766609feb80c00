package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// A reader of the log dm-log-writes keeps (drivers/md/dm-log-writes.c):
//
//	sector 0: super   magic u64, version u64, nr_entries u64, sectorsize u32
//	then per entry:   one sector: sector u64, nr_sectors u64, flags u64,
//	                  data_len u64, then a mark's text (data_len bytes)
//	                  nr_sectors sectors of data (none for marks, discards)
//
// All little-endian; sector and nr_sectors count sectorsize units. Writes
// appear only once a flush has covered them (or at once if FUA), in the
// order they completed: replaying entries up to a flush gives what the
// disk held when that flush completed.

const (
	lwMagic   = 0x6a736677736872
	lwVersion = 1

	lwFlush   = 1 << 0
	lwFUA     = 1 << 1
	lwDiscard = 1 << 2
	lwMark    = 1 << 3
	// 1 << 4 marks metadata writes; they replay like any other.
)

// lwEntry is one logged event.
type lwEntry struct {
	Index     int
	Flags     uint64
	Sector    uint64 // in sectorsize units
	NrSectors uint64
	Mark      string // for marks
}

func (e *lwEntry) isMark() bool { return e.Flags&lwMark != 0 }

// checkpoint reports whether the disk state after e is one a power cut can
// leave and the lab checks: after a flush or FUA write completed, and at a
// mark (written after an acknowledgement).
func (e *lwEntry) checkpoint() bool { return e.Flags&(lwFlush|lwFUA|lwMark) != 0 }

// lwLog reads a log.
type lwLog struct {
	r          io.ReaderAt
	size       int64
	SectorSize int64
	Entries    uint64
}

var errLogFormat = errors.New("not a dm-log-writes log")

func openLog(r io.ReaderAt, size int64) (*lwLog, error) {
	var super [28]byte
	if _, err := r.ReadAt(super[:], 0); err != nil {
		return nil, fmt.Errorf("%w: reading the super block: %v", errLogFormat, err)
	}
	le := binary.LittleEndian
	if le.Uint64(super[0:]) != lwMagic {
		return nil, fmt.Errorf("%w: bad magic %#x", errLogFormat, le.Uint64(super[0:]))
	}
	if v := le.Uint64(super[8:]); v != lwVersion {
		return nil, fmt.Errorf("%w: version %d", errLogFormat, v)
	}
	ss := int64(le.Uint32(super[24:]))
	if ss < 512 || ss > 64<<10 || ss&(ss-1) != 0 {
		return nil, fmt.Errorf("%w: sector size %d", errLogFormat, ss)
	}
	return &lwLog{r: r, size: size, SectorSize: ss, Entries: le.Uint64(super[16:])}, nil
}

// each calls fn for every entry in order, with the entry's data (nil for
// marks and discards) in a buffer fn must not keep.
func (l *lwLog) each(fn func(e *lwEntry, data []byte) error) error {
	pos := l.SectorSize
	hdr := make([]byte, l.SectorSize)
	var data []byte
	le := binary.LittleEndian
	for i := uint64(0); i < l.Entries; i++ {
		if pos+l.SectorSize > l.size {
			return fmt.Errorf("log entry %d at %d: past the end of the log (%d bytes)", i, pos, l.size)
		}
		if _, err := l.r.ReadAt(hdr, pos); err != nil {
			return fmt.Errorf("log entry %d: %v", i, err)
		}
		e := &lwEntry{
			Index:     int(i),
			Sector:    le.Uint64(hdr[0:]),
			NrSectors: le.Uint64(hdr[8:]),
			Flags:     le.Uint64(hdr[16:]),
		}
		dataLen := le.Uint64(hdr[24:])
		pos += l.SectorSize
		data = data[:0]
		switch {
		case e.isMark():
			if dataLen > uint64(l.SectorSize-32) {
				return fmt.Errorf("log entry %d: mark of %d bytes", i, dataLen)
			}
			e.Mark = string(hdr[32 : 32+dataLen])
		case e.Flags&lwDiscard != 0:
		default:
			if e.NrSectors > uint64(l.size/l.SectorSize) {
				return fmt.Errorf("log entry %d: %d sectors, more than the log holds", i, e.NrSectors)
			}
			n := int64(e.NrSectors) * l.SectorSize
			if pos+n > l.size {
				return fmt.Errorf("log entry %d: data past the end of the log", i)
			}
			if cap(data) < int(n) {
				data = make([]byte, n)
			}
			data = data[:n]
			if _, err := l.r.ReadAt(data, pos); err != nil {
				return fmt.Errorf("log entry %d: %v", i, err)
			}
			pos += n
		}
		var d []byte
		if len(data) > 0 {
			d = data
		}
		if err := fn(e, d); err != nil {
			return err
		}
	}
	return nil
}

// apply makes e's effect on a disk image: data written at its sector,
// zeros over a discarded range.
func (l *lwLog) apply(img io.WriterAt, imgSize int64, e *lwEntry, data []byte) error {
	if e.isMark() || (data == nil && e.Flags&lwDiscard == 0) {
		return nil
	}
	// Bound the sector numbers before multiplying: a damaged log's would
	// overflow.
	sectors := uint64(imgSize / l.SectorSize)
	if e.Sector > sectors || e.NrSectors > sectors-e.Sector {
		return fmt.Errorf("log entry %d writes sectors [%d, +%d), past the disk's %d", e.Index, e.Sector, e.NrSectors, sectors)
	}
	off := int64(e.Sector) * l.SectorSize
	n := int64(e.NrSectors) * l.SectorSize
	if e.Flags&lwDiscard != 0 {
		data = make([]byte, n)
	}
	_, err := img.WriteAt(data, off)
	return err
}
