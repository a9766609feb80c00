package slots

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots/vfs"
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

// Unwrap gives ErrCorrupt and each file's reason, so that errors.Is finds
// what a caller's check returned (savegame's ErrMigration, say).
func (e *CorruptError) Unwrap() []error {
	errs := []error{ErrCorrupt}
	files := make([]string, 0, len(e.Reasons))
	for f := range e.Reasons {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		errs = append(errs, e.Reasons[f])
	}
	return errs
}

// resolution is what applying the rule to a slot's files found.
type resolution struct {
	slot    int          // the file chosen; -1 if none
	file    *format.File // Load: the save chosen, nil if none
	info    Info
	maxGen  uint64  // highest generation in any readable header or pointer
	exists  [3]bool // slot 0, slot 1, pointer present
	reasons map[string]error
	// unreadable is the first failure to read a file (as opposed to a file
	// that is missing or damaged): Load moves past it, a commit does not
	// write on a state it could not read.
	unreadable error
}

// note records a file's failure; see resolution.unreadable.
func (r *resolution) note(file string, err error) {
	if r.unreadable == nil && isIOError(err) {
		r.unreadable = fmt.Errorf("read %s: %w", file, err)
	}
}

// isIOError reports whether err is a failure to read rather than bad
// content, a missing file or something that is no file of ours.
func isIOError(err error) bool {
	var fe *format.Error
	if errors.As(err, &fe) || notAFile(err) {
		return false
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist)
}

// notAFile reports whether err says that what is at a name is not a
// regular file (a directory, FIFO, device or symbolic link). A commit
// replaces such a thing by rename rather than write through it.
func notAFile(err error) bool {
	return errors.Is(err, vfs.ErrNotRegular) || errors.Is(err, syscall.ELOOP)
}

// readFile reads a whole file by name with the store's limits. It never
// follows a symbolic link, opens nothing but a regular file, and reads at
// most what the limits allow.
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

// readMeta reads a file's header and metadata, not its body.
func (s *Store) readMeta(file string) (format.Header, map[string]any, error) {
	f, err := s.fs.OpenFile(s.path(file), os.O_RDONLY)
	if err != nil {
		return format.Header{}, nil, err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return format.Header{}, nil, err
	}
	return format.ReadMeta(f, size, s.lim)
}

// readHeader reads only a file's header.
func (s *Store) readHeader(file string) (format.Header, error) {
	f, err := s.fs.OpenFile(s.path(file), os.O_RDONLY)
	if err != nil {
		return format.Header{}, err
	}
	defer f.Close()
	return format.ReadHeader(f)
}

// readPointer reads and checks NAME.ptr; it reads at most one byte more
// than a pointer record, whatever the file is.
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

// A candidate reads slot file i as deeply as its caller needs (the whole
// file for Load, header and metadata for List) and decides whether it can
// be used. bind, when not nil, is the pointer's check of the header; the
// candidate applies it before any check of its own, so a file the pointer
// does not name is never decoded. Any error rejects the file, with the
// error as the reason; the header, when it could be read, is returned
// either way.
type candidate func(i int, bind func(format.Header) error) (format.Header, error)

// choose applies the one rule that decides which save a slot holds; Load,
// List (Describe), Repair, the commit's choice of target and through them
// the newer-schema guard and the command-line tools all use it:
//
//  1. A valid pointer names a slot file, a generation, a size and a header
//     checksum. That file, if it holds exactly that container and the
//     candidate accepts it, is the save (not Recovered).
//  2. Otherwise, and when there is no valid pointer, the other slot files
//     are tried newest generation first (by their headers); the first one
//     the candidate accepts is the save, with Recovered and the reason
//     every file before it was passed over.
//  3. No file accepted: ErrCorrupt with each file's reason; no slot files
//     at all: ErrNotFound.
//
// Any failure of a file moves on to the next: it is missing, not a
// regular file, a link, unreadable, torn, of a bad checksum, or rejected
// by the candidate (a body that does not decode into the game's type).
// choose only reads, and reads each file at most once at the candidate's
// depth (plus one header).
func (s *Store) choose(name string, read candidate) (resolution, error) {
	r := resolution{slot: -1, reasons: map[string]error{}}
	ptr, ptrErr := s.readPointer(name)
	r.exists[2] = !errors.Is(ptrErr, fs.ErrNotExist)
	if ptrErr == nil {
		r.maxGen = ptr.Generation
	} else if r.exists[2] {
		r.reasons[pointerFile(name)] = ptrErr
		r.note(pointerFile(name), ptrErr)
	}

	// The order to try the files in. With a valid pointer, its file first;
	// only the other file's header is read ahead, for its generation.
	// Without one, both headers, to try the newest first.
	var order []int
	peek := func(i int) (format.Header, error) {
		h, err := s.readHeader(slotFile(name, i))
		if !errors.Is(err, fs.ErrNotExist) {
			r.exists[i] = true
		}
		if err == nil {
			r.maxGen = max(r.maxGen, h.Generation)
		} else if r.exists[i] {
			r.note(slotFile(name, i), err)
			r.reasons[slotFile(name, i)] = err
		}
		return h, err
	}
	if ptrErr == nil {
		_, _ = peek(1 - ptr.Slot)
		order = []int{ptr.Slot, 1 - ptr.Slot}
	} else {
		h0, err0 := peek(0)
		h1, err1 := peek(1)
		order = []int{0, 1}
		if err0 != nil || err1 == nil && h1.Generation > h0.Generation {
			order = []int{1, 0}
		}
	}

	var passed []string // why each file tried before the chosen one was not used
	if ptrErr != nil {
		if r.exists[2] {
			passed = append(passed, fmt.Sprintf("%s: %v", pointerFile(name), ptrErr))
		} else {
			passed = append(passed, "no pointer file")
		}
	}
	for _, i := range order {
		file := slotFile(name, i)
		named := ptrErr == nil && i == ptr.Slot
		if !named && !r.exists[i] {
			continue
		}
		var bind func(format.Header) error
		if named {
			bind = ptr.binds
		}
		h, err := read(i, bind)
		if errors.Is(err, fs.ErrNotExist) {
			if named {
				err = errors.New("missing")
				passed = append(passed, fmt.Sprintf("pointer names %s generation %d: %v", file, ptr.Generation, err))
				r.reasons[file] = err
			}
			continue
		}
		r.exists[i] = true
		if h.Generation != 0 {
			r.maxGen = max(r.maxGen, h.Generation)
		}
		if err != nil {
			r.note(file, err)
			r.reasons[file] = err
			if named {
				passed = append(passed, fmt.Sprintf("pointer names %s generation %d: %v", file, ptr.Generation, err))
			} else {
				passed = append(passed, fmt.Sprintf("%s: %v", file, err))
			}
			continue
		}
		r.slot = i
		r.info = Info{Name: name, Slot: i, Header: h, Generation: h.Generation,
			Recovered: !named, Reason: strings.Join(passed, "; ")}
		return r, nil
	}
	if !r.exists[0] && !r.exists[1] {
		return r, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return r, &CorruptError{Name: name, Reasons: r.reasons}
}

// binds checks that h is the header of the container the pointer names:
// its generation, its size and its header checksum.
func (p pointer) binds(h format.Header) error {
	switch {
	case h.Generation != p.Generation:
		return fmt.Errorf("holds generation %d, the pointer names generation %d", h.Generation, p.Generation)
	case h.Size() != p.Size:
		return fmt.Errorf("holds a %d-byte container, the pointer names %d bytes", h.Size(), p.Size)
	case h.HeaderSum != p.HeaderSum:
		return fmt.Errorf("header checksum %#016x, the pointer names %#016x", h.HeaderSum, p.HeaderSum)
	}
	return nil
}

// readSlot applies the rule to whole files, each verified (checksums,
// structure, metadata that decodes as List decodes it) and then offered to
// accept; nil means the store's Options.Check.
func (s *Store) readSlot(name string, accept func(*format.File) error) (resolution, error) {
	if accept == nil {
		accept = s.check
	}
	var files [2]*format.File
	var metas [2]map[string]any
	r, err := s.choose(name, func(i int, bind func(format.Header) error) (format.Header, error) {
		f, err := s.readFile(slotFile(name, i))
		if err != nil {
			var h format.Header
			if f != nil {
				h = f.Header
			}
			return h, err
		}
		if bind != nil {
			if err := bind(f.Header); err != nil {
				return f.Header, err
			}
		}
		// List reads the metadata; what it refuses, Load must too. The
		// decoded map is Info.Meta: no caller decodes it again.
		m, err := f.DecodeMeta()
		if err != nil {
			return f.Header, err
		}
		metas[i] = m
		if accept != nil {
			if err := callAccept(accept, f); err != nil {
				return f.Header, err
			}
		}
		files[i] = f
		return f.Header, nil
	})
	if r.slot >= 0 {
		r.file, r.info.Meta = files[r.slot], metas[r.slot]
	}
	return r, err
}

// callAccept runs a caller's check of a candidate; a panic in it rejects
// the file like an error does.
func callAccept(accept func(*format.File) error, f *format.File) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("rejected (the check panicked: %v)", p)
		}
	}()
	return accept(f)
}

// Load reads the committed save of slot name, verified (checksums and
// structure) and ready to decode, with where it came from. If the
// committed save is damaged, it returns the other slot's save with
// Info.Recovered and the reason. It never writes: a later Commit repairs.
func (s *Store) Load(name string) (*format.File, Info, error) {
	return s.LoadFunc(name, nil)
}

// LoadFunc is Load with the caller's own check of each candidate save
// (instead of Options.Check):
// accept is called with each verified file the rule would return, in its
// order of preference, and an error from it (or a panic) passes that file
// over for the next, as damage would. A game decodes the body there, so
// that a save that does not decode into its type falls back like a torn
// one.
func (s *Store) LoadFunc(name string, accept func(*format.File) error) (*format.File, Info, error) {
	st, err := s.slot(name, false)
	if err != nil {
		return nil, Info{}, err
	}
	defer st.mu.Unlock()
	r, err := s.readSlot(name, accept)
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			return nil, Info{}, err
		}
		return nil, Info{}, fmt.Errorf("slots: load %q: %w", name, err)
	}
	// The save Load returns is the one a commit must not overwrite. A file
	// it could not read leaves that to the commit's own resolve.
	if r.unreadable == nil {
		st.current, st.exists = r.slot, r.exists
		st.lastGen = max(st.lastGen, r.maxGen)
		st.resolved = true
	}
	return r.file, r.info, nil
}

// Status of a slot in List.
type Status string

// Statuses.
const (
	StatusOK        Status = "ok"        // the pointer's save: header and metadata intact
	StatusRecovered Status = "recovered" // Load would fall back to the other slot
	StatusCorrupt   Status = "corrupt"   // no slot holds a valid header and metadata
)

// Entry is one slot in List.
type Entry struct {
	Name   string
	Status Status
	Slot   int           // the slot Load would read; -1 when corrupt
	Header format.Header // of that slot
	Meta   map[string]any
	Reason string // when not ok
	// Verified is true when the body was read and its checksum checked.
	// List and Describe never read bodies, so it is false there: a body
	// damaged since it was written shows at Load (which then falls back)
	// or in Verify, not in a listing.
	Verified bool
}

// List describes every slot in the store from headers and metadata only;
// bodies are not read (Entry.Verified is false), so a damaged body shows
// at Load, not here.
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

// Describe is List for one slot: the rule applied to headers and metadata
// only (Entry.Verified is false: the body was not read). ok is false when
// the name has no slot files.
func (s *Store) Describe(name string) (Entry, bool) {
	st, err := s.slot(name, false)
	if err != nil {
		return Entry{Name: name, Status: StatusCorrupt, Slot: -1, Reason: err.Error()}, true
	}
	defer st.mu.Unlock()
	var metas [2]map[string]any
	r, err := s.choose(name, func(i int, bind func(format.Header) error) (format.Header, error) {
		h, m, err := s.readMeta(slotFile(name, i))
		if err == nil && bind != nil {
			err = bind(h)
		}
		metas[i] = m
		return h, err
	})
	if errors.Is(err, ErrNotFound) {
		return Entry{}, false
	}
	e := Entry{Name: name, Slot: -1}
	if err != nil {
		var why []string
		for i := range 2 {
			if reason := r.reasons[slotFile(name, i)]; reason != nil {
				why = append(why, fmt.Sprintf("%s: %v", slotFile(name, i), reason))
			}
		}
		if len(why) == 0 {
			why = append(why, err.Error())
		}
		e.Status, e.Reason = StatusCorrupt, strings.Join(why, "; ")
		return e, true
	}
	e.Slot, e.Header, e.Meta, e.Reason = r.slot, r.info.Header, metas[r.slot], r.info.Reason
	e.Status = StatusOK
	if r.info.Recovered {
		e.Status = StatusRecovered
	}
	return e, true
}
