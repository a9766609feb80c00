package savegame

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots"
	"github.com/savekit/savekit/slots/vfs"
	"github.com/savekit/savekit/snapshot"
	"github.com/vmihailenco/msgpack/v5"
)

// Migration turns the generic form of a save of schema N into that of
// schema N+1. The generic form is what decoding a save without its type
// gives, normalized so that a migration can rely on it: a struct is a
// map[string]any by field name, a slice or array []any, an integer int64
// (uint64 only above math.MaxInt64) whatever its width in the game's
// type, a float float64, a time.Time in UTC, a []byte, string or bool
// itself, a map with string keys map[string]any (other keys:
// map[any]any). Migrate makes a Migration from a typed function instead.
type Migration func(old any) (any, error)

// Options configure a Store. The zero value works: schema 0, default limits,
// no logging, the real file system.
type Options struct {
	// Schema is the game's current data version, written into every save.
	Schema uint32
	// Migrations, by the schema they migrate from: Migrations[3] turns a
	// schema 3 save into schema 4.
	Migrations map[uint32]Migration
	// Limits bound the size and nesting of saves, and the memory decoding
	// one may take: a Save over them fails with ErrTooLarge (the previous
	// save stays), as Load would refuse it. nil means defaults.
	Limits *Limits
	// Logger receives one line per failed save; nil means none.
	Logger *slog.Logger
	// OnSaved is called on the writer goroutine when a save is
	// acknowledged, OnFailed when a save or a Delete fails, before its
	// Pending resolves. They must not block for long, and must not wait for a
	// Pending of this store, nor call Flush or Close; Load, List and
	// Continue may be called, and see the save settled.
	OnSaved  func(slot string, gen uint64, st Stats)
	OnFailed func(slot string, err error)
	// OnWarning is called on the writer goroutine, once per distinct
	// warning, for what a save keeps but not as the game had it: a
	// pointer or map shared between two places in the world
	// (errors.Is(err, ErrShared); after a load the two places hold
	// separate copies; the message names both places). The save itself succeeds. Warnings are also logged to
	// Logger and kept for Store.Warnings.
	OnWarning func(slot string, err error)
	// EncodeOnCaller makes Save encode the world with msgpack on the
	// caller instead of copying it: for world types the snapshot package
	// cannot copy (custom marshalers that hold pointers). Slower on the
	// caller, but always safe.
	EncodeOnCaller bool
	// FS is the file system; nil means vfs.Default(): the disk, or
	// IndexedDB in a browser (docs/web.md). Tests pass a vfs.CrashFS or
	// vfs.FaultFS.
	FS vfs.FS
}

// SaveOptions adjust one Save.
type SaveOptions struct {
	// Meta is the save's metadata, shown by load menus through List
	// without reading the save itself: title, level, play time, a
	// thumbnail as []byte. It is a struct of the game's (or a pointer to
	// one), whose exported fields are kept by name, or a map[string]any.
	// List and Load return it as a Meta, which decodes back into the
	// struct (Meta.Decode). Save refuses metadata that would not come
	// back (ErrMetadata).
	Meta any
	// Force overwrites a slot whose save is from a newer schema.
	Force bool
}

// Store saves and loads values of type T in a directory.
type Store[T any] struct {
	slots  *slots.Store
	copier *snapshot.Copier[T]
	opts   Options
	lim    *format.Limits // opts.Limits, as format takes them
	prover genericProver  // writer goroutine only

	mu         sync.Mutex
	cond       *sync.Cond // signals the writer and Flush
	queues     map[string]*queue
	order      []string // slots with waiting saves, in the order they arrived
	closed     bool
	stopped    chan struct{} // closed by the notifier when both it and the writer are done
	ncond      *sync.Cond    // signals the notifier
	notes      []note        // settled jobs the notifier has yet to report
	writerDone bool
	// inCallback is non-zero while the notifier runs warnings and
	// callbacks: a Load from one must not wait for Pendings the notifier
	// resolves only after it returns.
	inCallback atomic.Int32
	closeErr   error                 // the slot store's Close, set before stopped closes
	schemas    map[string]slotSchema // schema of each slot's current save, once known

	sharingSeen  map[string]bool // slots whose first save was checked for sharing
	warnings     []error         // distinct warnings, in the order met
	warningsSeen map[string]bool
}

// result is a job's outcome: done is closed once err is set (the writer
// settled it), reported once its Pendings are resolved (the notifier
// reported it).
type result struct {
	done     chan struct{}
	reported chan struct{}
	err      error
}

// queue is the state of one slot: at most one save in flight and one
// waiting.
type queue struct {
	inflight *job
	waiting  *job
}

type job struct {
	slot     string
	value    any            // *T snapshot, or msgpack.RawMessage with EncodeOnCaller
	meta     map[string]any // proved metadata
	force    bool
	del      bool       // a Delete, not a save
	pendings []*Pending // the waiting job's, plus those it replaced
	// res is the job's outcome, shared with the jobs it replaced: Load,
	// List and Continue wait on it, not on the Pendings, since it is
	// settled before the callbacks run (which may call them).
	res *result
	// delFirst: this save replaced a waiting Delete, which runs first and
	// resolves delPendings.
	delFirst    bool
	delPendings []*Pending
	queued      time.Time
	snap        time.Duration
	warnings    []error // found on the caller, reported by the writer
}

// Open opens the store in dir (created if needed) and starts its writer.
// It checks up front, so that a world no save of which could load fails
// here, at start-up, naming the field and the fix: that every part of T
// msgpack encodes can be decoded back into T (no funcs or channels, no
// interface types with methods, no struct of which nothing is saved),
// that T's zero value and a value with every field set come back the same
// from a save and a load (ErrUnloadable otherwise), and, unless
// EncodeOnCaller, that T can be snapshotted.
func Open[T any](dir string, opts *Options) (*Store[T], error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	s := &Store[T]{opts: o, queues: map[string]*queue{}, stopped: make(chan struct{}), schemas: map[string]slotSchema{},
		sharingSeen: map[string]bool{}, warningsSeen: map[string]bool{}}
	if err := checkWorldType(reflect.TypeFor[T]()); err != nil {
		return nil, wrapErr("open", "", err)
	}
	if err := roundTripWorld[T](); err != nil {
		return nil, wrapErr("open", "", err)
	}
	if !o.EncodeOnCaller {
		c, err := snapshot.For[T]()
		if err != nil {
			return nil, wrapErr("open", "", fmt.Errorf("%w (or set Options.EncodeOnCaller)", err))
		}
		s.copier = c
	}
	// The store's check is Load's: a save that does not decode into T (or
	// does not migrate) is passed over by Load and by a commit's choice of
	// the file it may overwrite alike, so a save made before any Load never
	// overwrites the only save that loads.
	s.lim = o.Limits.format()
	s.prover.maxDepth = o.Limits.depth()
	st, err := slots.Open(dir, &slots.Options{FS: o.FS, Limits: s.lim, Check: s.loadable})
	if err != nil {
		return nil, wrapErr("open", "", err)
	}
	s.slots = st
	s.cond = sync.NewCond(&s.mu)
	s.ncond = sync.NewCond(&s.mu)
	go s.writer()
	go s.notifier()
	return s, nil
}

// Save snapshots *v on the calling goroutine and returns at once; the save
// is encoded and written on the store's writer goroutine. Save never waits
// for the disk, and never panics: whatever it is handed, a failure
// resolves the Pending with an error. If a save of the same slot is
// already waiting, this one replaces it, and the replaced save's Pending
// resolves with this one's result. After Close, Save returns a Pending
// failed with ErrClosed.
//
// A save is acknowledged only once what Load will decode has been proved
// to decode: the metadata (here, on the caller, so the Pending of a
// refused save fails at once) and every value the world holds in an
// interface (on the writer). What does not decode fails the Pending with
// ErrMetadata naming the metadata key, or ErrUnloadable naming the world's
// field, and nothing is written: the slot's previous save still loads.
//
// Load, List and Continue made after Save see this save: they wait for it.
func (s *Store[T]) Save(slot string, v *T, opts *SaveOptions) *Pending {
	p := newPending()
	fail := func(st Stats, err error) *Pending {
		p.resolve(0, st, wrapErr("save", slot, err))
		return p
	}
	if err := slots.ValidateName(slot); err != nil {
		return fail(Stats{}, err)
	}
	var so SaveOptions
	if opts != nil {
		so = *opts
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return fail(Stats{}, ErrClosed)
	}
	if v == nil {
		return fail(Stats{}, errors.New("nil world: Save takes a pointer to the world"))
	}
	meta, err := proveMeta(so.Meta, s.lim)
	if err != nil {
		return fail(Stats{}, err)
	}
	s.mu.Lock()
	// The check for shared pointers costs a map insertion per pointer of
	// the world on the game thread, about what the copy costs: it runs on
	// each slot's first save in a Store's life only, so that no later save
	// pays it (a periodic check would be a periodic hitch).
	checkSharing := s.copier != nil && !s.sharingSeen[slot]
	s.mu.Unlock()

	t0 := time.Now()
	value, err := s.snapshot(v)
	if err != nil {
		return fail(Stats{}, err)
	}
	snap := time.Since(t0)
	var warnings []error
	if checkSharing {
		if w := findShared(v); w != nil {
			warnings = append(warnings, w)
		}
		s.mu.Lock()
		s.sharingSeen[slot] = true // only once a copy succeeded
		s.mu.Unlock()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fail(Stats{Snapshot: snap}, ErrClosed)
	}
	s.enqueue(&job{slot: slot, value: value, meta: meta, force: so.Force, pendings: []*Pending{p}, queued: time.Now(), snap: snap, warnings: warnings})
	return p
}

// errReplacedByDelete fails a save that was still waiting when a Delete of
// its slot came.
var errReplacedByDelete = errors.New("not written: a Delete of the slot replaced it while it waited")

// enqueue makes j the slot's waiting job; s.mu is held. Latest wins: a
// waiting save replaced by a newer save is dropped, and its Pendings (and
// warnings) ride on the newer job; replaced by a Delete, its Pendings fail
// (it was never written). A waiting Delete replaced by a save still runs
// first, as part of that job, so that the slot's older saves are gone
// before the new one is written.
func (s *Store[T]) enqueue(j *job) {
	q := s.queues[j.slot]
	if q == nil {
		q = &queue{}
		s.queues[j.slot] = q
	}
	j.res = &result{done: make(chan struct{}), reported: make(chan struct{})}
	if w := q.waiting; w != nil {
		j.res = w.res
		j.warnings = append(w.warnings, j.warnings...)
		switch {
		case w.del && !j.del:
			j.delFirst, j.delPendings = true, w.pendings
		case w.delFirst && !j.del:
			j.delFirst, j.delPendings = true, w.delPendings
			j.pendings = append(w.pendings, j.pendings...)
		case j.del:
			// The waiting save is never written: its Pendings fail, so no
			// game reads "saved" for it. A Delete it carried rides on.
			if !w.del {
				for _, p := range w.pendings {
					p.resolve(0, Stats{}, wrapErr("save", j.slot, errReplacedByDelete))
				}
				j.pendings = append(w.delPendings, j.pendings...)
				j.warnings = nil // of a save never written
			} else {
				j.pendings = append(w.pendings, j.pendings...)
			}
		default:
			j.pendings = append(w.pendings, j.pendings...)
		}
	} else {
		s.order = append(s.order, j.slot)
	}
	q.waiting = j
	s.cond.Broadcast()
}

// snapshot copies *v (or, with EncodeOnCaller, encodes it). A panic from
// either is a failed save, not a crash of the game: the copy walks values
// the game built, and encoding runs the world's own marshal methods.
func (s *Store[T]) snapshot(v *T) (value any, err error) {
	defer func() {
		if r := recover(); r != nil {
			value, err = nil, fmt.Errorf("%w while copying or encoding the world (nothing was saved): %v", ErrPanic, r)
		}
	}()
	if s.copier != nil {
		cp, err := s.copier.Copy(v)
		if err != nil {
			return nil, err
		}
		return cp, nil
	}
	b, err := format.MarshalBody(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return msgpack.RawMessage(b), nil
}

// findShared is snapshot.FindShared with its panics caught: a warning is
// never worth a crash.
func findShared[T any](v *T) (w error) {
	defer func() {
		if r := recover(); r != nil {
			w = nil
		}
	}()
	if se, _ := snapshot.FindShared(v); se != nil {
		return fmt.Errorf("%w: %w", ErrShared, se)
	}
	return nil
}

// Warnings returns the distinct warnings the store has reported so far
// (see Options.OnWarning), oldest first.
func (s *Store[T]) Warnings() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.warnings)
}

// warn reports the warnings not reported before; writer goroutine only.
func (s *Store[T]) warn(slot string, ws []error) {
	for _, w := range ws {
		s.mu.Lock()
		seen := s.warningsSeen[w.Error()]
		if !seen {
			s.warningsSeen[w.Error()] = true
			s.warnings = append(s.warnings, w)
		}
		s.mu.Unlock()
		if seen {
			continue
		}
		if s.opts.Logger != nil {
			s.opts.Logger.Warn("savegame: save keeps less than the world", "slot", slot, "warning", w)
		}
		if s.opts.OnWarning != nil {
			s.opts.OnWarning(slot, w)
		}
	}
}

// writer is the store's one background goroutine: it takes waiting saves
// in arrival order, one slot at a time, and commits them. After Close it
// drains the queue, closes the slot store (releasing the lock) and exits.
func (s *Store[T]) writer() {
	s.mu.Lock()
	for {
		for len(s.order) == 0 && !s.closed {
			s.cond.Wait()
		}
		if len(s.order) == 0 && s.closed {
			s.mu.Unlock()
			s.closeErr = s.slots.Close()
			s.mu.Lock()
			s.writerDone = true
			s.ncond.Signal()
			s.mu.Unlock()
			return
		}
		slot := s.order[0]
		s.order = s.order[1:]
		q := s.queues[slot]
		j := q.waiting
		q.waiting, q.inflight = nil, j
		s.mu.Unlock()

		var (
			gen    uint64
			st     Stats
			err    error
			delErr error
		)
		if j.del || j.delFirst {
			delErr = s.delete(slot)
			err = delErr
			if j.delFirst && delErr != nil {
				err = wrapErr("save", slot, &kindError{msg: "not written: the Delete of the slot made before it failed: " + causeText(delErr), errs: []error{delErr}})
			}
		}
		if !j.del && err == nil {
			gen, st, err = s.commit(j)
		}

		// The outcome is settled here, at once: Load, List and Continue
		// wait on it. Warnings, logging, callbacks and the Pendings follow
		// on the notifier goroutine, in order, so that a callback that
		// calls the store never holds up the writer it would wait for.
		j.res.err = err
		close(j.res.done)
		j.value, j.meta = nil, nil // the world's copy is done with; the note must not hold it
		s.mu.Lock()
		q.inflight = nil
		s.notes = append(s.notes, note{j: j, gen: gen, st: st, err: err, delErr: delErr})
		s.ncond.Signal()
		s.cond.Broadcast()
	}
}

// note is a settled job for the notifier to report.
type note struct {
	j      *job
	gen    uint64
	st     Stats
	err    error
	delErr error // of the Delete a save replaced (job.delFirst)
}

// notifier reports settled jobs in the order the writer settled them:
// warnings, the log line, OnSaved or OnFailed, then the Pendings, so that
// whoever waits on a Pending finds the callback done. Once the writer has
// exited and every note is reported, it closes stopped.
func (s *Store[T]) notifier() {
	s.mu.Lock()
	for {
		for len(s.notes) == 0 && !s.writerDone {
			s.ncond.Wait()
		}
		if len(s.notes) == 0 {
			s.mu.Unlock()
			close(s.stopped)
			return
		}
		n := s.notes[0]
		s.notes = s.notes[1:]
		s.mu.Unlock()

		j := n.j
		s.inCallback.Add(1)
		s.warn(j.slot, j.warnings)
		for _, p := range j.delPendings {
			p.resolve(0, Stats{}, n.delErr)
		}
		if n.err != nil {
			if s.opts.Logger != nil {
				s.opts.Logger.Error("savegame: failed", "slot", j.slot, "err", n.err)
			}
			if s.opts.OnFailed != nil {
				s.opts.OnFailed(j.slot, n.err)
			}
		} else if s.opts.OnSaved != nil && !j.del {
			s.opts.OnSaved(j.slot, n.gen, n.st)
		}
		s.inCallback.Add(-1)
		for _, p := range j.pendings {
			p.resolve(n.gen, n.st, n.err)
		}
		close(j.res.reported)
		s.mu.Lock()
	}
}

// commit proves and writes one save; it runs on the writer goroutine only.
// A panic in proving or encoding (the world's own marshal methods run
// here) fails the save instead of killing the game.
func (s *Store[T]) commit(j *job) (gen uint64, st Stats, err error) {
	st = Stats{Snapshot: j.snap, Queue: time.Since(j.queued)}
	defer func() {
		if r := recover(); r != nil {
			gen, err = 0, wrapErr("save", j.slot, fmt.Errorf("%w while proving or encoding it (nothing was acknowledged; the previous save still loads): %v", ErrPanic, r))
		}
	}()
	if !j.force {
		if err := s.checkNotNewer(j.slot); err != nil {
			return 0, st, wrapErr("save", j.slot, err)
		}
	}
	t0 := time.Now()
	err = s.proveBody(j.value)
	st.Check = time.Since(t0)
	if err != nil {
		st.Total = j.snap + st.Queue + st.Check
		return 0, st, wrapErr("save", j.slot, err)
	}
	cs, err := s.slots.Commit(j.slot, format.EncodeFunc(format.Params{Schema: s.opts.Schema, Meta: j.meta, Target: reflect.TypeFor[T]()}, j.value, s.lim))
	st.Encode, st.Write, st.Sync, st.Bytes, st.Flushes, st.File = cs.Encode, cs.Write, cs.Sync, cs.Bytes, cs.Flushes, cs.Slot
	st.Total = j.snap + st.Queue + st.Check + cs.Encode + cs.Write + cs.Sync
	if err != nil {
		return 0, st, wrapErr("save", j.slot, err)
	}
	s.noteSchema(j.slot, s.opts.Schema, cs.Generation)
	return cs.Generation, st, nil
}

// proveBody proves that the world will decode the way Load decodes it,
// beyond what Open's round trip of T covers. A snapshot's values held in
// interfaces are decoded generically by Load, so each is encoded and
// decoded here; a world encoded on the caller (EncodeOnCaller, whose types
// run their own marshal code) is decoded whole into a new T, exactly as
// Load will.
func (s *Store[T]) proveBody(value any) error {
	switch v := value.(type) {
	case *T:
		return s.prover.prove(reflect.ValueOf(v))
	case msgpack.RawMessage:
		if err := decodeLikeLoad(v, new(T)); err != nil {
			return fmt.Errorf("%w: the world, encoded, does not decode back into %s as Load decodes it: %w", ErrUnloadable, reflect.TypeFor[T](), err)
		}
	}
	return nil
}

// slotSchema is the schema of a slot's save of generation gen.
type slotSchema struct {
	schema uint32
	gen    uint64
}

// noteSchema records that slot's save of generation gen has schema,
// unless a newer generation is recorded already: a Load that read an
// older save must not undo what a later commit recorded.
func (s *Store[T]) noteSchema(slot string, schema uint32, gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.schemas[slot]; !ok || gen >= rec.gen {
		s.schemas[slot] = slotSchema{schema, gen}
	}
}

// checkNotNewer refuses to overwrite a slot whose save is from a newer
// schema: a player who opens an old build must not lose the new game's save.
func (s *Store[T]) checkNotNewer(slot string) error {
	s.mu.Lock()
	rec, known := s.schemas[slot]
	s.mu.Unlock()
	schema := rec.schema
	if !known {
		// Once per slot per process: this slot's header alone.
		if e, ok := s.slots.Describe(slot); ok && e.Status != slots.StatusCorrupt {
			schema, known = e.Header.Schema, true
			s.noteSchema(slot, schema, e.Header.Generation)
		}
	}
	if known && schema > s.opts.Schema {
		return fmt.Errorf("%w (schema %d; this game writes %d): not overwritten without SaveOptions.Force", ErrNewerSchema, schema, s.opts.Schema)
	}
	return nil
}

// Flush waits until every save made before it is resolved, or ctx ends.
func (s *Store[T]) Flush(ctx context.Context) error {
	s.mu.Lock()
	var wait []*Pending
	for _, q := range s.queues {
		wait = q.pendings(wait)
	}
	s.mu.Unlock()
	return waitAll(ctx, wait)
}

// pendings appends the last Pending of the save in flight and of the
// waiting one. The writer resolves a save's Pendings in order, so once the
// last is resolved all are; waiting for the first could return while the
// others are still being resolved.
func (q *queue) pendings(to []*Pending) []*Pending {
	for _, j := range []*job{q.inflight, q.waiting} {
		if j != nil {
			to = append(to, j.pendings[len(j.pendings)-1])
		}
	}
	return to
}

// waitAll waits for every p to resolve, or for ctx to end.
func waitAll(ctx context.Context, ps []*Pending) error {
	for _, p := range ps {
		select {
		case <-p.Done():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Close stops taking saves, waits (until ctx ends) for the saves already
// made to be written, and releases the directory's lock. If ctx ends first,
// the writer still finishes those saves and then releases the lock. Saves
// after Close return a Pending failed with ErrClosed.
func (s *Store[T]) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return wrapErr("close", "", ErrClosed)
	}
	s.closed = true
	s.cond.Broadcast()
	s.mu.Unlock()
	select {
	case <-s.stopped:
		return wrapErr("close", "", s.closeErr)
	case <-ctx.Done():
		return wrapErr("close", "", fmt.Errorf("%w (the saves already made are still being written; the lock is released after them)", ctx.Err()))
	}
}

// Delete removes slot durably, on the writer goroutine after the slot's
// saves already made: it returns at once and never waits for the disk.
// The Pending resolves when the slot is gone (Generation 0). A Save of
// the slot made after Delete is written after it; Load and List made
// after Delete wait for it and find no save.
func (s *Store[T]) Delete(slot string) *Pending {
	p := newPending()
	if err := slots.ValidateName(slot); err != nil {
		p.resolve(0, Stats{}, wrapErr("delete", slot, err))
		return p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		p.resolve(0, Stats{}, wrapErr("delete", slot, ErrClosed))
		return p
	}
	s.enqueue(&job{slot: slot, del: true, pendings: []*Pending{p}, queued: time.Now()})
	return p
}

// delete removes slot's files; writer goroutine only.
func (s *Store[T]) delete(slot string) error {
	if err := s.slots.Delete(slot); err != nil {
		return wrapErr("delete", slot, err)
	}
	s.mu.Lock()
	delete(s.schemas, slot)
	s.mu.Unlock()
	return nil
}
