package slots

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"

	"github.com/savekit/savekit/format"
)

// CorruptError lists, when no file of a slot holds a valid save, what is
// wrong with each. It wraps ErrCorrupt.
type CorruptError struct {
	Name    string
	Reasons map[string]error // by file name
}

func (e *CorruptError) Error() string {
	files := make([]string, 0, len(e.Reasons))
	for f := range e.Reasons {
		files = append(files, f)
	}
	sort.Strings(files)
	var b strings.Builder
	fmt.Fprintf(&b, "slots: %q has no valid save:", e.Name)
	for _, f := range files {
		fmt.Fprintf(&b, " %s: %v;", f, e.Reasons[f])
	}
	return strings.TrimSuffix(b.String(), ";")
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// resolution is what reading a slot's files found.
type resolution struct {
	file    *format.File // the save Load returns, nil if none
	info    Info
	maxGen  uint64  // highest generation in any readable header or pointer
	exists  [3]bool // slot 0, slot 1, pointer present
	reasons map[string]error
}

// readFile reads a whole file by name with the store's limits. It never
// follows a symbolic link.
func (s *Store) readFile(file string) (*format.File, error) {
	f, err := s.fs.OpenFile(s.path(file), os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return nil, err
	}
	return format.Read(f, size, s.lim)
}

func (s *Store) readPointer(name string) (pointer, error) {
	f, err := s.fs.OpenFile(s.path(pointerFile(name)), os.O_RDONLY)
	if err != nil {
		return pointer{}, err
	}
	defer f.Close()
	b := make([]byte, pointerSize+1)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return pointer{}, err
	}
	return parsePointer(b[:n])
}

// readSlot applies the recovery rules of docs/durability.md:
//
//  1. A valid pointer whose slot holds a valid save of the generation,
//     size and header checksum it names: that save.
//  2. Otherwise the other slot, if valid: Recovered.
//  3. No valid pointer: the valid slot with the highest generation;
//     Recovered if there was a pointer file or the other slot is damaged.
//  4. Nothing valid: ErrCorrupt with each file's reason; no slot files at
//     all: ErrNotFound.
//
// It only reads.
func (s *Store) readSlot(name string) (resolution, error) {
	r := resolution{reasons: map[string]error{}}
	var slots [2]*format.File
	var slotErr [2]error
	// read verifies slot file i whole.
	read := func(i int) {
		slots[i], slotErr[i] = s.readFile(slotFile(name, i))
		r.exists[i] = !errors.Is(slotErr[i], fs.ErrNotExist)
		if slots[i] != nil {
			r.maxGen = max(r.maxGen, slots[i].Header.Generation)
		} else if r.exists[i] {
			r.reasons[slotFile(name, i)] = slotErr[i]
			s.peekGeneration(name, i, &r) // a damaged body's header still uses its generation up
		}
	}
	ptr, ptrErr := s.readPointer(name)
	r.exists[2] = !errors.Is(ptrErr, fs.ErrNotExist)
	if ptrErr == nil {
		r.maxGen = max(r.maxGen, ptr.Generation)
	} else if r.exists[2] {
		r.reasons[pointerFile(name)] = ptrErr
	}
	if isIOError(ptrErr) {
		return r, fmt.Errorf("read %s: %w", pointerFile(name), ptrErr)
	}
	// The common case reads one file: the pointer's, verified whole; of
	// the other only the header, for its generation. Anything else reads
	// both.
	pick := func(i int, recovered bool, reason string) {
		r.file = slots[i]
		r.info = Info{Name: name, Slot: i, Header: slots[i].Header, Generation: slots[i].Header.Generation, Recovered: recovered, Reason: reason}
	}
	if ptrErr == nil {
		i := ptr.Slot
		read(i)
		if f := slots[i]; f != nil && f.Header.Generation == ptr.Generation && f.Header.Size() == ptr.Size && f.Header.HeaderSum == ptr.HeaderSum {
			if err := s.peekGeneration(name, 1-i, &r); err != nil {
				return r, err
			}
			pick(i, false, "")
			return r, nil
		}
		read(1 - i)
	} else {
		read(0)
		read(1)
	}

	// A file that could not be read (as opposed to one that is missing or
	// damaged) leaves the state unknown: say so rather than guess.
	for i, err := range slotErr {
		if isIOError(err) {
			return r, fmt.Errorf("read %s: %w", slotFile(name, i), err)
		}
	}

	if ptrErr == nil {
		// The pointer's file is not the one it names (checked above).
		i := ptr.Slot
		why := slotErr[ptr.Slot]
		if why == nil {
			why = fmt.Errorf("holds generation %d (%d bytes, header checksum %#016x), the pointer names generation %d (%d bytes, header checksum %#016x)",
				slots[i].Header.Generation, slots[i].Header.Size(), slots[i].Header.HeaderSum, ptr.Generation, ptr.Size, ptr.HeaderSum)
			r.reasons[slotFile(name, i)] = why
		}
		if slots[1-i] != nil {
			pick(1-i, true, fmt.Sprintf("pointer names %s generation %d: %v", slotFile(name, i), ptr.Generation, why))
			return r, nil
		}
	} else {
		best := -1
		for i := range 2 {
			if slots[i] != nil && (best < 0 || slots[i].Header.Generation > slots[best].Header.Generation) {
				best = i
			}
		}
		if best >= 0 {
			var why []string
			if r.exists[2] {
				why = append(why, fmt.Sprintf("%s: %v", pointerFile(name), ptrErr))
			} else {
				why = append(why, "no pointer file")
			}
			if e := slotErr[1-best]; e != nil && r.exists[1-best] {
				why = append(why, fmt.Sprintf("%s: %v", slotFile(name, 1-best), e))
			}
			pick(best, true, strings.Join(why, "; "))
			return r, nil
		}
	}
	if !r.exists[0] && !r.exists[1] {
		return r, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return r, &CorruptError{Name: name, Reasons: r.reasons}
}

// peekGeneration reads only the header of slot file i, for its generation
// and whether it exists. A header that does not parse is not an error
// here: the file is damaged, which only matters if it is needed.
func (s *Store) peekGeneration(name string, i int, r *resolution) error {
	f, err := s.fs.OpenFile(s.path(slotFile(name, i)), os.O_RDONLY)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	r.exists[i] = true
	if err != nil {
		return fmt.Errorf("read %s: %w", slotFile(name, i), err)
	}
	defer f.Close()
	h, err := format.ReadHeader(f)
	if err == nil {
		r.maxGen = max(r.maxGen, h.Generation)
	} else if isIOError(err) {
		return fmt.Errorf("read %s: %w", slotFile(name, i), err)
	}
	return nil
}

// isIOError reports whether err is a failure to read rather than bad
// content: the caller should see it as it is, not as corruption.
func isIOError(err error) bool {
	var fe *format.Error
	if errors.As(err, &fe) {
		return false
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist)
}

// Load reads the committed save of slot name, verified (checksums and
// structure) and ready to decode, with where it came from. If the
// committed save is damaged, it returns the other slot's save with
// Info.Recovered and the reason. It never writes: a later Commit repairs.
func (s *Store) Load(name string) (*format.File, Info, error) {
	st, err := s.slot(name, false)
	if err != nil {
		return nil, Info{}, err
	}
	defer st.mu.Unlock()
	r, err := s.readSlot(name)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			return nil, Info{}, err
		}
		return nil, Info{}, fmt.Errorf("slots: load %q: %w", name, err)
	}
	if !st.resolved {
		st.current, st.lastGen, st.exists, st.resolved = r.info.Slot, r.maxGen, r.exists, true
	}
	return r.file, r.info, nil
}

// Status of a slot in List.
type Status string

// Statuses.
const (
	StatusOK        Status = "ok"        // the pointer's save is intact
	StatusRecovered Status = "recovered" // Load would fall back to the other slot
	StatusCorrupt   Status = "corrupt"   // no slot holds a valid header
)

// Entry is one slot in List.
type Entry struct {
	Name   string
	Status Status
	Slot   int           // the slot Load would read; -1 when corrupt
	Header format.Header // of that slot
	Meta   map[string]any
	Reason string // when not ok
}

// List describes every slot in the store from headers and metadata only;
// bodies are not read, so a damaged body shows at Load, not here.
func (s *Store) List() ([]Entry, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	files, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("slots: list %s: %w", s.dir, err)
	}
	seen := map[string]bool{}
	var out []Entry
	for _, f := range files {
		name := parseFileName(f)
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		if e, ok := s.Describe(name); ok {
			out = append(out, e)
		}
	}
	return out, nil
}

type headerMeta struct {
	h    format.Header
	meta map[string]any
	err  error
}

func (s *Store) readMeta(file string) headerMeta {
	f, err := s.fs.OpenFile(s.path(file), os.O_RDONLY)
	if err != nil {
		return headerMeta{err: err}
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return headerMeta{err: err}
	}
	h, m, err := format.ReadMeta(f, size, s.lim)
	return headerMeta{h, m, err}
}

// Describe is List for one slot: readSlot's rules applied to headers and
// metadata only. ok is false when the name has no slot files.
func (s *Store) Describe(name string) (Entry, bool) {
	st, err := s.slot(name, false)
	if err != nil {
		return Entry{Name: name, Status: StatusCorrupt, Slot: -1, Reason: err.Error()}, true
	}
	defer st.mu.Unlock()
	var hm [2]headerMeta
	for i := range 2 {
		hm[i] = s.readMeta(slotFile(name, i))
	}
	if errors.Is(hm[0].err, fs.ErrNotExist) && errors.Is(hm[1].err, fs.ErrNotExist) {
		return Entry{}, false
	}
	e := Entry{Name: name, Slot: -1}
	use := func(i int, status Status, reason string) (Entry, bool) {
		e.Slot, e.Status, e.Header, e.Meta, e.Reason = i, status, hm[i].h, hm[i].meta, reason
		return e, true
	}
	ptr, perr := s.readPointer(name)
	if perr == nil {
		i := ptr.Slot
		if hm[i].err == nil && hm[i].h.Generation == ptr.Generation && hm[i].h.Size() == ptr.Size && hm[i].h.HeaderSum == ptr.HeaderSum {
			return use(i, StatusOK, "")
		}
		if hm[1-i].err == nil {
			why := hm[i].err
			if why == nil {
				why = fmt.Errorf("holds generation %d, the pointer names %d", hm[i].h.Generation, ptr.Generation)
			}
			return use(1-i, StatusRecovered, fmt.Sprintf("%s: %v", slotFile(name, i), why))
		}
	} else {
		best := -1
		for i := range 2 {
			if hm[i].err == nil && (best < 0 || hm[i].h.Generation > hm[best].h.Generation) {
				best = i
			}
		}
		if best >= 0 {
			return use(best, StatusRecovered, fmt.Sprintf("%s: %v", pointerFile(name), perr))
		}
	}
	var why []string
	for i := range 2 {
		if hm[i].err != nil && !errors.Is(hm[i].err, fs.ErrNotExist) {
			why = append(why, fmt.Sprintf("%s: %v", slotFile(name, i), hm[i].err))
		}
	}
	e.Status, e.Reason = StatusCorrupt, strings.Join(why, "; ")
	return e, true
}
