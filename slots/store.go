package slots

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots/vfs"
)

// Errors callers branch on.
var (
	// ErrInvalidName: a slot name that is not 1-64 letters, digits, '-'
	// or '_', is a Windows device name, or differs only by case from a
	// slot the store already has.
	ErrInvalidName = errors.New("slots: invalid slot name")
	// ErrNotFound: the slot has no files.
	ErrNotFound = errors.New("slots: no such save")
	// ErrCorrupt: the slot has files but none holds a valid save.
	ErrCorrupt = errors.New("slots: no valid save")
	// ErrLocked: another process has the store open.
	ErrLocked = vfs.ErrLocked
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("slots: store closed")
	// ErrReadOnly: a write to a store opened with Options.ReadOnly.
	ErrReadOnly = errors.New("slots: store opened read-only")
)

// Options configure a Store. The zero value is the real file system with
// format's default limits.
type Options struct {
	// FS is the file system; nil means vfs.Default(): the real one, or
	// IndexedDB in a browser.
	FS vfs.FS
	// Limits bound what the store writes and reads; nil means defaults.
	Limits *format.Limits
	// Check, if not nil, is the store's own test of a candidate save,
	// beyond its checksums and structure: Load, Repair and every commit's
	// choice of the file it may overwrite apply it, so that a save Check
	// rejects (a body that does not decode into the game's type) is passed
	// over by all of them alike, and the save it falls back to is never the
	// one a commit overwrites. A panic in it rejects the file.
	Check func(*format.File) error
	// ReadOnly opens without the lock and without changing anything (no
	// directory creation, no clean-up): Load and List work while another
	// process holds the store, which the protocol makes safe; Commit,
	// Delete and Repair return ErrReadOnly.
	ReadOnly bool

	// commitFiles replaces the commit's file protocol, for the tests that
	// prove the crash explorer can fail and the benchmarks that measure
	// textbook alternatives (protocols_test.go). nil means the one the
	// store ships with.
	commitFiles commitFunc
}

// commitFunc writes generation gen of slot name to its files and makes
// it durable; CommitStats.Slot says which slot file now holds it.
type commitFunc func(s *Store, name string, st *slotState, gen uint64, write WriteFunc) (CommitStats, error)

// WriteFunc writes a save's container into dst, from offset 0, as
// generation gen, and returns its header: format.EncodeFunc is one. It
// is what a commit writes; the store knows nothing of the values inside.
type WriteFunc func(dst io.WriterAt, gen uint64) (format.Header, error)

// Store is a directory of save slots. It holds the directory's lock until
// Close. Its methods are safe for concurrent use; operations on one slot
// name are serialised.
type Store struct {
	dir   string
	fs    vfs.FS
	lim   *format.Limits
	check func(*format.File) error
	// commitFn is Options.commitFiles, or (*Store).commit.
	commitFn commitFunc

	readOnly bool
	removed  []string // temporaries Open removed

	mu     sync.Mutex
	lock   io.Closer
	slots  map[string]*slotState // by name
	lower  map[string]string     // lower-case name -> name, for case collisions
	closed bool
}

// slotState is what the store knows of one slot name.
type slotState struct {
	mu       sync.Mutex
	resolved bool   // committed and lastGen are known
	current  int    // slot holding the save Load returns; -1 for none
	lastGen  uint64 // highest generation seen or attempted
	files    [2]vfs.File
	ptr      vfs.File
	exists   [3]bool // slot 0, slot 1, pointer: file present with a durable name
}

// Open opens the store in dir, creating the directory (0700) if needed. It
// takes the directory's lock (ErrLocked if another process holds it),
// removes temporaries a crash left, and syncs the directory, so that every
// name it sees is durable before a commit relies on it.
func Open(dir string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		fsys, err := vfs.Default()
		if err != nil {
			return nil, fmt.Errorf("slots: open %s: %w", dir, err)
		}
		o.FS = fsys
	}
	s := &Store{dir: dir, fs: o.FS, lim: o.Limits, check: o.Check, commitFn: o.commitFiles, readOnly: o.ReadOnly,
		slots: map[string]*slotState{}, lower: map[string]string{}}
	if s.commitFn == nil {
		s.commitFn = (*Store).commit
	}
	if o.ReadOnly {
		if _, err := s.fs.Lstat(dir); err != nil {
			return nil, fmt.Errorf("slots: open %s: %w", dir, err)
		}
		names, err := s.fs.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("slots: open %s: %w", dir, err)
		}
		for _, f := range names {
			if name := parseFileName(f); name != "" {
				s.lower[strings.ToLower(name)] = name
			}
		}
		return s, nil
	}
	if err := s.mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("slots: open %s: %w", dir, err)
	}
	lock, err := s.fs.Lock(filepath.Join(dir, lockFile))
	if err != nil {
		if errors.Is(err, vfs.ErrLocked) {
			return nil, fmt.Errorf("slots: open %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("slots: open %s: lock: %w", dir, err)
	}
	s.lock = lock
	if err := s.scan(); err != nil {
		lock.Close()
		return nil, fmt.Errorf("slots: open %s: %w", dir, err)
	}
	return s, nil
}

// mkdirDurable creates dir and any missing parents (0700), and syncs the
// parent of each directory it created: a new directory's name is, like a
// file's, lost in a power cut until its parent is synced, and with it every
// save inside. (A game's first launch creates its save directory; its first
// save must survive a power cut too.)
func (s *Store) mkdirDurable(dir string) error {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := s.fs.Lstat(d); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if err := s.fs.MkdirAll(dir); err != nil {
		return err
	}
	for i := len(missing) - 1; i >= 0; i-- {
		if err := s.fs.SyncDir(filepath.Dir(missing[i])); err != nil {
			return fmt.Errorf("sync the parent of the new directory %s: %w", missing[i], err)
		}
	}
	return nil
}

// scan removes temporaries, learns the slot names, and syncs the directory.
func (s *Store) scan() error {
	files, err := s.fs.ReadDir(s.dir)
	if err != nil {
		return err
	}
	for _, f := range files {
		if isTemp(f) {
			if err := s.fs.Remove(filepath.Join(s.dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove temporary %s: %w", f, err)
			}
			s.removed = append(s.removed, f)
			continue
		}
		if name := parseFileName(f); name != "" {
			s.lower[strings.ToLower(name)] = name
		}
	}
	return s.fs.SyncDir(s.dir)
}

// RemovedTemporaries lists the temporaries Open removed: what a crash in
// the middle of creating a file left.
func (s *Store) RemovedTemporaries() []string { return append([]string(nil), s.removed...) }

// slot returns the state of name, locked, checking the name.
func (s *Store) slot(name string, create bool) (*slotState, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if other, ok := s.lower[strings.ToLower(name)]; ok && other != name {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: %q differs only by case from the existing slot %q", ErrInvalidName, name, other)
	} else if create {
		s.lower[strings.ToLower(name)] = name
	}
	st := s.slots[name]
	if st == nil {
		st = &slotState{current: -1}
		s.slots[name] = st
	}
	s.mu.Unlock()
	st.mu.Lock()
	return st, nil
}

// Close closes the store's files and releases its lock. Later calls return
// ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	states := make([]*slotState, 0, len(s.slots))
	for _, st := range s.slots {
		states = append(states, st)
	}
	s.mu.Unlock()
	var errs []error
	for _, st := range states {
		st.mu.Lock()
		errs = append(errs, st.closeFiles())
		st.mu.Unlock()
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

func (st *slotState) closeFiles() error {
	var errs []error
	for i, f := range st.files {
		if f != nil {
			errs = append(errs, f.Close())
			st.files[i] = nil
		}
	}
	if st.ptr != nil {
		errs = append(errs, st.ptr.Close())
		st.ptr = nil
	}
	return errors.Join(errs...)
}

func (s *Store) path(file string) string { return filepath.Join(s.dir, file) }

// Info describes a committed save.
type Info struct {
	Name       string
	Slot       int           // 0 or 1: the slot file it came from
	Header     format.Header // generation, schema, creation time, sizes
	Recovered  bool          // the pointer's save could not be used; this is the fallback
	Reason     string        // why, when Recovered
	Generation uint64
	Meta       map[string]any // the save's metadata, decoded (the rule checks that it decodes)
}

// CommitStats describes one commit.
type CommitStats struct {
	Slot       int
	Generation uint64
	Header     format.Header
	Bytes      int64         // bytes written, slot and pointer
	Flushes    int           // fdatasync, fsync and directory syncs issued
	Encode     time.Duration // encoding, hashing and validating the container
	Write      time.Duration // in write calls: the slot file and the pointer
	Sync       time.Duration // waiting for the flushes
}

// timedWriter measures the time spent in WriteAt, so that a streamed
// encode can be split into encoding and writing, and keeps what was
// written over the header's bytes, for the commit to check.
type timedWriter struct {
	w     io.WriterAt
	spent time.Duration
	head  [format.HeaderSize]byte
}

func (t *timedWriter) WriteAt(p []byte, off int64) (int, error) {
	if off < format.HeaderSize {
		copy(t.head[off:], p)
	}
	t0 := time.Now()
	n, err := t.w.WriteAt(p, off)
	t.spent += time.Since(t0)
	return n, err
}

// NextGeneration returns the generation the next commit of name will get.
func (s *Store) NextGeneration(name string) (uint64, error) {
	st, err := s.slot(name, false)
	if err != nil {
		return 0, err
	}
	defer st.mu.Unlock()
	if err := s.resolve(name, st); err != nil {
		return 0, err
	}
	return st.lastGen + 1, nil
}

// resolve works out, once per slot name, which slot holds the save Load
// would return (the one a commit must not overwrite) and the highest
// generation on disk.
func (s *Store) resolve(name string, st *slotState) error {
	if st.resolved {
		return nil
	}
	r, err := s.readSlot(name, nil)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
		return err
	}
	if r.unreadable != nil {
		// A file that could not be read leaves the state unknown: which
		// file is live, which generation is next. Say so rather than guess.
		return r.unreadable
	}
	if r.slot < 0 && s.check != nil {
		// Check passes over every file: none is a save this game can
		// load, but another build of it may. Keep the newest valid one,
		// as if there were no check.
		if r2, err := s.readSlot(name, acceptAll); err == nil {
			r.slot = r2.slot
		}
	}
	st.current = r.slot
	st.lastGen = r.maxGen
	st.exists = r.exists
	// A link, FIFO or directory where a file should be is not written
	// through: the commit creates the file anew and renames it over the
	// name (which fails, with a clear error, for a directory).
	for i, file := range []string{slotFile(name, 0), slotFile(name, 1), pointerFile(name)} {
		if notAFile(r.reasons[file]) {
			st.exists[i] = false
		}
	}
	// A damaged pointer is replaced whole too: rewriting its first 64
	// bytes in place would leave a file of another length (another
	// program's) damaged for good.
	if r.reasons[pointerFile(name)] != nil {
		st.exists[2] = false
	}
	st.resolved = true
	return nil
}

func acceptAll(*format.File) error { return nil }

// recheck makes sure that what the store learnt of a slot's files is still
// true of the directory before a commit relies on it. Another program (a
// cloud sync client, a player copying saves in) may have replaced, removed
// or created a slot file or the pointer since: a handle held open would
// then write into a file no longer in the directory, and the save would be
// acknowledged into nothing. If anything changed, the handles are dropped
// and the slot is read again from the directory as it is now.
func (s *Store) recheck(name string, st *slotState) error {
	if !st.resolved {
		return nil
	}
	stale := false
	for _, f := range append(st.files[:], st.ptr) {
		if f == nil {
			continue
		}
		if ok, err := f.Linked(); err != nil || !ok {
			stale = true
		}
	}
	for i, file := range []string{slotFile(name, 0), slotFile(name, 1), pointerFile(name)} {
		fi, err := s.fs.Lstat(s.path(file))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("lstat %s: %w", file, err)
		}
		// A regular file where the store knows of none, none where it
		// knows of one, or something else (a link, a directory) there.
		if (err == nil && fi.Mode().IsRegular()) != st.exists[i] {
			stale = true
		}
	}
	if stale {
		_ = st.closeFiles()
		st.resolved = false
	}
	return nil
}

// linked fails when f, written and flushed in place, is no longer the file
// named file in the directory: the commit must not be acknowledged.
func linked(f vfs.File, file string) error {
	ok, err := f.Linked()
	if err != nil {
		return fmt.Errorf("check %s is still in the directory: %w", file, err)
	}
	if !ok {
		return fmt.Errorf("%s was replaced or removed by another program during the commit", file)
	}
	return nil
}

// Commit writes a new save of slot name and returns once it is durable:
// write puts the container into the slot file that does not hold the
// save Load would return, the pointer is rewritten to name it, and both
// are flushed. A failure at any step returns an error and leaves the
// previous save loadable; the next commit rewrites the slot file from
// scratch. A failed flush is never retried.
func (s *Store) Commit(name string, write WriteFunc) (CommitStats, error) {
	if s.readOnly {
		return CommitStats{}, fmt.Errorf("slots: commit %q: %w", name, ErrReadOnly)
	}
	st, err := s.slot(name, true)
	if err != nil {
		return CommitStats{}, err
	}
	defer st.mu.Unlock()
	if err := s.recheck(name, st); err != nil {
		return CommitStats{}, fmt.Errorf("slots: commit %q: %w", name, err)
	}
	if err := s.resolve(name, st); err != nil {
		return CommitStats{}, fmt.Errorf("slots: commit %q: %w", name, err)
	}
	st.lastGen++
	stats, err := s.commitFn(s, name, st, st.lastGen, write)
	if err != nil {
		// The file contents are unknown now: drop the handles so the next
		// commit starts from a fresh open.
		_ = st.closeFiles()
		return stats, fmt.Errorf("slots: commit %q: %w", name, err)
	}
	st.current = stats.Slot
	return stats, nil
}

// commit is the commit protocol. The container goes into the slot
// file the pointer does not name; then the pointer is rewritten to name
// it. In the steady state both files exist: both are written in place and
// flushed at once (see flushBoth). A file that does not exist yet is
// created whole through a flushed temporary and a rename (writeNew), so
// it is durable before the pointer can name it.
func (s *Store) commit(name string, st *slotState, gen uint64, write WriteFunc) (stats CommitStats, err error) {
	target := 0
	if st.current >= 0 {
		target = 1 - st.current
	}
	stats = CommitStats{Slot: target, Generation: gen}
	file, ptrFile := slotFile(name, target), pointerFile(name)
	t0 := time.Now()
	defer func() { stats.Write = time.Since(t0) - stats.Sync - stats.Encode }()

	var slot vfs.File // the slot file written in place, not yet flushed
	if st.exists[target] {
		if slot, err = s.openRW(&st.files[target], file); err == nil {
			stats.Header, err = s.writeContainer(slot, file, gen, write, &stats)
		}
	} else if err = s.writeNew(name, file, func(f vfs.File) (int64, error) {
		h, err := s.encode(f, gen, write, &stats)
		stats.Header = h
		return h.Size(), err
	}, &stats); err == nil {
		st.exists[target] = true
	}
	if err != nil {
		return stats, err
	}

	h := stats.Header
	rec := pointer{Slot: target, Generation: gen, Size: h.Size(), HeaderSum: h.HeaderSum}.marshal()
	if !st.exists[2] {
		if slot != nil {
			if err := s.datasync(slot, file, &stats); err != nil {
				return stats, err
			}
			if err := linked(slot, file); err != nil {
				return stats, err
			}
		}
		err := s.writeNew(name, ptrFile, func(f vfs.File) (int64, error) {
			n, err := f.WriteAt(rec, 0)
			return int64(n), err
		}, &stats)
		if err == nil {
			st.exists[2] = true
		}
		return stats, err
	}
	ptr, err := s.openRW(&st.ptr, ptrFile)
	if err != nil {
		return stats, err
	}
	if _, err := ptr.WriteAt(rec, 0); err != nil {
		return stats, fmt.Errorf("write %s: %w", ptrFile, err)
	}
	stats.Bytes += int64(len(rec))
	if slot == nil {
		err = s.datasync(ptr, ptrFile, &stats)
	} else if err = s.flushBoth(slot, file, ptr, ptrFile, &stats); err == nil {
		err = linked(slot, file)
	}
	if err == nil {
		err = linked(ptr, ptrFile)
	}
	return stats, err
}

// flushBoth makes the slot file and the pointer durable with two flushes
// issued at the same time, in no fixed order: while the slot's data is
// being written the pointer's small write and flush complete, and
// Linux's block layer merges flush requests that wait together, so much of
// the second flush is hidden (measured in docs/durability.md). Elsewhere it
// costs at most what flushing one after the other does.
//
// Their order does not matter for safety. Until both return, the commit is
// not acknowledged, and a power cut may leave the new pointer with a torn
// slot file: the pointer's generation and header checksum then do not
// match the file, and Load falls back to the other slot, which holds the
// previous, acknowledged save (reporting Recovered, since the save the
// pointer names was lost). The crash exploration in crash_test.go checks
// every such state.
//
// A file system that can flush both at once, all or nothing
// (vfs.DatasyncAller: IndexedDB), does: there no crash or failed flush
// keeps the new pointer without the new slot bytes, a subset of the states
// above.
func (s *Store) flushBoth(slot vfs.File, slotName string, ptr vfs.File, ptrName string, stats *CommitStats) error {
	t0 := time.Now()
	defer func() { stats.Sync += time.Since(t0) }()
	stats.Flushes += 2
	if all, ok := s.fs.(vfs.DatasyncAller); ok {
		if err := all.DatasyncAll(slot, ptr); err != nil {
			return fmt.Errorf("fdatasync %s and %s: %w", slotName, ptrName, err)
		}
		return nil
	}
	done := make(chan error, 1)
	go func() {
		err := slot.Datasync()
		if err != nil {
			err = fmt.Errorf("fdatasync %s: %w", slotName, err)
		}
		done <- err
	}()
	err := ptr.Datasync()
	if err != nil {
		err = fmt.Errorf("fdatasync %s: %w", ptrName, err)
	}
	return errors.Join(<-done, err)
}

// openRW returns the cached read-write handle of file, opening it if needed.
func (s *Store) openRW(cache *vfs.File, file string) (vfs.File, error) {
	if *cache == nil {
		f, err := s.fs.OpenFile(s.path(file), os.O_RDWR)
		if err != nil {
			return nil, err
		}
		*cache = f
	}
	return *cache, nil
}

// writeContainer writes the container over an existing slot file that the
// pointer does not name, and cuts the file to the container's length. Only
// such a file is ever written in place, so a power cut mid-write tears a
// file no reader trusts. The caller flushes it.
func (s *Store) writeContainer(f vfs.File, file string, gen uint64, write WriteFunc, stats *CommitStats) (format.Header, error) {
	h, err := s.encode(f, gen, write, stats)
	if err != nil {
		return h, fmt.Errorf("write %s: %w", file, err)
	}
	stats.Bytes += h.Size()
	// Cut the file to the container's length when it changed. A truncate
	// to the current size is skipped: it would still dirty the inode.
	size, err := f.Size()
	if err != nil {
		return h, fmt.Errorf("stat %s: %w", file, err)
	}
	if size != h.Size() {
		if err := f.Truncate(h.Size()); err != nil {
			return h, fmt.Errorf("truncate %s: %w", file, err)
		}
	}
	return h, nil
}

// encode runs write into f, timing its encoding apart from its writes,
// and checks that the header it returns is the one in the file, of the
// generation asked for.
func (s *Store) encode(f vfs.File, gen uint64, write WriteFunc, stats *CommitStats) (format.Header, error) {
	tw := &timedWriter{w: f}
	t0 := time.Now()
	h, err := write(tw, gen)
	stats.Encode += time.Since(t0) - tw.spent // the caller times the write
	if err != nil {
		return h, err
	}
	// The pointer will name this header by its checksum and size: it must
	// be the header written at the file's start, of the generation asked
	// for, whatever write returned.
	got, err := format.ParseHeader(tw.head[:])
	switch {
	case err != nil:
		return h, fmt.Errorf("the write callback wrote no valid header at offset 0: %w", err)
	case got.HeaderSum != h.HeaderSum || got.Size() != h.Size():
		return h, errors.New("the write callback returned a header other than the one it wrote")
	case h.Generation != gen:
		return h, fmt.Errorf("the container was written as generation %d, not %d", h.Generation, gen)
	}
	return h, nil
}

// writeNew creates file the first time: written in full to a temporary,
// flushed, renamed into place and the directory synced, so the name never
// appears with partial content and is durable before the pointer relies on
// it. It costs two flushes more than writing in place, once per file.
func (s *Store) writeNew(name, file string, write func(vfs.File) (int64, error), stats *CommitStats) (err error) {
	tmp, err := s.fs.CreateTemp(s.dir, tempPrefix(name))
	if err != nil {
		return fmt.Errorf("create temporary for %s: %w", file, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			_ = s.fs.Remove(tmp.Name())
		}
	}()
	n, err := write(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	stats.Bytes += n
	if err := s.datasync(tmp, file, stats); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary for %s: %w", file, err)
	}
	if err := s.fs.Rename(tmp.Name(), s.path(file)); err != nil {
		return fmt.Errorf("rename temporary to %s: %w", file, err)
	}
	t0 := time.Now()
	defer func() { stats.Sync += time.Since(t0) }()
	stats.Flushes++
	if err := s.fs.SyncDir(s.dir); err != nil {
		return fmt.Errorf("sync directory after creating %s: %w", file, err)
	}
	return nil
}

// datasync flushes f, counting the flush and its time in stats.
func (s *Store) datasync(f vfs.File, file string, stats *CommitStats) error {
	t0 := time.Now()
	defer func() { stats.Sync += time.Since(t0) }()
	stats.Flushes++
	if err := f.Datasync(); err != nil {
		return fmt.Errorf("fdatasync %s: %w", file, err)
	}
	return nil
}

// Delete removes slot name durably. The file that is not committed goes
// first and the directory is synced, then the pointer and the committed
// file: a power cut part-way leaves the committed save or nothing, never
// the older one.
func (s *Store) Delete(name string) error {
	if s.readOnly {
		return fmt.Errorf("slots: delete %q: %w", name, ErrReadOnly)
	}
	st, err := s.slot(name, false)
	if err != nil {
		return err
	}
	defer st.mu.Unlock()
	if err := s.resolve(name, st); err != nil {
		return fmt.Errorf("slots: delete %q: %w", name, err)
	}
	if err := st.closeFiles(); err != nil {
		return fmt.Errorf("slots: delete %q: %w", name, err)
	}
	st.resolved = false
	first := []string{slotFile(name, 0), slotFile(name, 1)}
	var last []string
	if st.current >= 0 {
		first = []string{slotFile(name, 1-st.current)}
		last = []string{slotFile(name, st.current)}
	}
	last = append(last, pointerFile(name))
	// The pointer goes with the committed file, before it.
	slices.Reverse(last)
	for _, batch := range [][]string{first, last} {
		removed := false
		for _, f := range batch {
			err := s.fs.Remove(s.path(f))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("slots: delete %q: remove %s: %w", name, f, err)
			}
			removed = removed || err == nil
		}
		if removed {
			if err := s.fs.SyncDir(s.dir); err != nil {
				return fmt.Errorf("slots: delete %q: sync directory: %w", name, err)
			}
		}
	}
	s.mu.Lock()
	delete(s.lower, strings.ToLower(name))
	s.mu.Unlock()
	return nil
}
