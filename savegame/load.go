package savegame

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots"
)

// Info describes the save Load returned.
type Info struct {
	Slot       string
	Generation uint64 // counts the slot's saves: 1 for its first
	Created    time.Time
	Schema     uint32 // the schema it was written with (before migration)
	Size       int64  // bytes of the save file
	Meta       Meta   // the metadata given to Save
	File       int    // which of the slot's two files holds it (0 = A, 1 = B)
	Recovered  bool   // the newest save could not be used; this is the one before
	Reason     string // why, when Recovered
	Migrated   bool   // migrations ran from Schema to Options.Schema
}

// SlotInfo describes one slot for a load menu, from headers and metadata
// alone: the save Load would return, or why there is none.
type SlotInfo struct {
	Slot       string
	Status     Status // ok, recovered (Load falls back to the save before) or corrupt
	Generation uint64
	Created    time.Time
	Schema     uint32
	Size       int64  // bytes of the save file
	Meta       Meta   // the metadata given to Save
	File       int    // which of the slot's two files holds it (0 = A, 1 = B); -1 when corrupt
	Reason     string // why, when recovered or corrupt
}

// Status is where a slot stands in List.
type Status string

// Statuses of a slot.
const (
	StatusOK        Status = "ok"        // its newest save: header and metadata intact
	StatusRecovered Status = "recovered" // the newest save is damaged; Load returns the one before
	StatusCorrupt   Status = "corrupt"   // no save of the slot is intact: Load fails with ErrCorrupt
)

// Load reads the newest save of slot, verified, migrated to
// Options.Schema if it is older, and decoded.
//
// Load sees every Save made before it: if a save of the slot is still
// queued or being written, Load waits for it (until ctx ends) and then
// returns it, or that save's error. So Load right after Save returns what
// was given to Save, never the save before.
//
// If the newest save cannot be used, for any reason (a damaged or odd
// file, metadata or a body that does not decode into T, a failed
// migration), Load returns the one before it with Info.Recovered and the
// reason. Only when no file of the slot yields a save does it fail:
// ErrNotFound, ErrCorrupt (every file damaged), ErrTypeMismatch or
// ErrMigration (an intact save that does not become a T). A save from a
// newer schema gives ErrNewerSchema.
func (s *Store[T]) Load(ctx context.Context, slot string) (*T, Info, error) {
	v, info, _, err := s.load(ctx, slot)
	return v, info, wrapErr("load", slot, err)
}

// Export writes the save Load would return as one standard save file, byte
// for byte the container savekit wrote (a header longer than this version
// writes, from a later one, is written as this version's header): what the
// savegame CLI's inspect, dump and unpack read, and import or pack write
// back. It is how a player
// or support gets a save out of a store that is not files they can reach,
// as in a browser (docs/web.md); on a desktop it copies the file Load
// chose. Like Load, it waits for the slot's queued saves and checks that
// the save decodes into T.
func (s *Store[T]) Export(ctx context.Context, slot string, w io.Writer) (Info, error) {
	_, info, f, err := s.load(ctx, slot)
	if err == nil {
		var head []byte
		if head, err = f.Header.AppendBinary(nil); err == nil {
			err = writeAll(w, head, f.Meta, f.Body)
		}
	}
	return info, wrapErr("export", slot, err)
}

func writeAll(w io.Writer, parts ...[]byte) error {
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store[T]) load(ctx context.Context, slot string) (*T, Info, *format.File, error) {
	if err := slots.ValidateName(slot); err != nil {
		return nil, Info{}, nil, err
	}
	if err := s.awaitSlot(ctx, slot); err != nil {
		return nil, Info{}, nil, err
	}
	var (
		v   *T
		mig bool
	)
	// accept decodes a candidate the way the game will use it; an error
	// passes the file over for the next, as damage would. (slots has
	// already checked, and decoded, the metadata.)
	accept := func(f *format.File) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.Header.Schema > s.opts.Schema {
			// Not damage: the newest save is from a newer game. It is
			// the save this slot holds; Load refuses it below.
			v = nil
			return nil
		}
		nv, migrated, err := s.decode(f)
		if err != nil {
			return err
		}
		v, mig = nv, migrated
		return nil
	}
	f, si, err := s.slots.LoadFunc(slot, accept)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return nil, Info{}, nil, cerr
		}
		var ce *slots.CorruptError
		if errors.As(err, &ce) {
			err = &corruptError{ce} // worded for a game: each file, why, and what to do
		}
		return nil, Info{}, nil, err
	}
	h := f.Header
	info := Info{Slot: slot, Generation: h.Generation, Created: h.Created, Schema: h.Schema, Size: h.Size(),
		File: si.Slot, Recovered: si.Recovered, Reason: si.Reason, Meta: normalizeMeta(si.Meta), Migrated: mig}
	s.noteSchema(slot, h.Schema, h.Generation)
	if h.Schema > s.opts.Schema {
		return nil, info, nil, fmt.Errorf("%w (%d; this game reads up to %d): update the game to load it", ErrNewerSchema, h.Schema, s.opts.Schema)
	}
	return v, info, f, nil
}

// awaitSlot waits for the saves and deletes of slot made before it, and
// returns the error of the newest if it failed: the state Load would read
// is then not the one the game last gave.
func (s *Store[T]) awaitSlot(ctx context.Context, slot string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var res *result
	if q := s.queues[slot]; q != nil {
		for _, j := range []*job{q.inflight, q.waiting} {
			if j != nil {
				res = j.res // the waiting job's, if any: the newest
			}
		}
	}
	s.mu.Unlock()
	if res == nil {
		return nil
	}
	if err := s.await(ctx, res); err != nil {
		return fmt.Errorf("waiting for the slot's queued save: %w", err)
	}
	if res.err != nil {
		return &kindError{msg: "the slot's last Save or Delete, made before this call, failed: " + causeText(res.err), errs: []error{res.err}}
	}
	return nil
}

// awaitAll waits for every save and delete made before it, or for ctx to
// end; their errors are their Pendings'.
func (s *Store[T]) awaitAll(ctx context.Context) error {
	s.mu.Lock()
	var wait []*result
	for _, q := range s.queues {
		for _, j := range []*job{q.inflight, q.waiting} {
			if j != nil {
				wait = append(wait, j.res)
			}
		}
	}
	s.mu.Unlock()
	for _, r := range wait {
		if err := s.await(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// await waits until r is settled and, unless a callback is running (which
// may be the caller), reported: so that after Load the save's Pending has
// resolved too, and a Load inside OnSaved, which runs before the Pendings
// resolve, does not wait for itself.
func (s *Store[T]) await(ctx context.Context, r *result) error {
	select {
	case <-r.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.inCallback.Load() != 0 {
		return nil
	}
	select {
	case <-r.reported:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// Loading is a Load under way on its own goroutine (LoadAsync), for a game
// that shows a loading screen and polls each frame.
type Loading[T any] struct {
	done chan struct{}
	v    *T
	info Info
	err  error
}

// LoadAsync starts Load(ctx, slot) on its own goroutine and returns at
// once; the game polls Ready each frame (or selects on Done), then takes
// Result. Cancelling ctx ends the load early with ctx's error.
func (s *Store[T]) LoadAsync(ctx context.Context, slot string) *Loading[T] {
	l := &Loading[T]{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		l.v, l.info, l.err = s.Load(ctx, slot)
	}()
	return l
}

// Done is closed when the load has finished, loaded or failed.
func (l *Loading[T]) Done() <-chan struct{} { return l.done }

// Ready reports, without blocking, whether the load has finished.
func (l *Loading[T]) Ready() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Result is Load's result once Ready; before that it is nil, Info{} and
// ErrPending.
func (l *Loading[T]) Result() (*T, Info, error) {
	if !l.Ready() {
		return nil, Info{}, ErrPending
	}
	return l.v, l.info, l.err
}

// Wait blocks until the load finishes or ctx ends, and returns Load's
// result, or ctx's error.
func (l *Loading[T]) Wait(ctx context.Context) (*T, Info, error) {
	select {
	case <-l.done:
		return l.v, l.info, l.err
	case <-ctx.Done():
		return nil, Info{}, ctx.Err()
	}
}

// Continue loads the most recently created save, across all slots, that
// loads: the "Continue" entry of a title screen. A slot whose newest save
// is damaged counts with the save Load falls back to. Slots whose saves are
// damaged beyond recovery, do not fit T or are from a newer schema are
// skipped. It sees every Save made before it, like Load. With no save to
// continue it fails with ErrNotFound (and, when some slot was skipped,
// that slot's error too).
//
// Saves are ordered by their creation time, as the machine's clock wrote
// it: a clock set back between two saves in different slots orders them
// by the clock.
func (s *Store[T]) Continue(ctx context.Context) (*T, Info, error) {
	v, info, err := s.cont(ctx)
	return v, info, wrapErr("continue", "", err)
}

func (s *Store[T]) cont(ctx context.Context) (*T, Info, error) {
	list, err := s.list(ctx)
	if err != nil {
		return nil, Info{}, err
	}
	slices.SortStableFunc(list, func(a, b SlotInfo) int { return b.Created.Compare(a.Created) })
	var skipped []error
	var why []string
	var (
		best     *T
		bestInfo Info
		found    bool
	)
	for _, e := range list {
		// List orders slots by their newest save's time, from headers
		// alone; a slot whose newest save turns out damaged loads an
		// older one, so a later slot may still hold a newer save.
		if found && !e.Created.After(bestInfo.Created) {
			break
		}
		if e.Status == StatusCorrupt {
			skipped = append(skipped, ErrCorrupt)
			why = append(why, fmt.Sprintf("%q: %s", e.Slot, e.Reason))
			continue
		}
		v, info, err := s.Load(ctx, e.Slot)
		if err == nil {
			if !found || info.Created.After(bestInfo.Created) {
				best, bestInfo, found = v, info, true
			}
			continue
		}
		if ctx.Err() != nil {
			return nil, Info{}, ctx.Err()
		}
		skipped = append(skipped, err)
		msg := err.Error()
		var se *Error
		if errors.As(err, &se) {
			msg = trimPrefixes(se.Err.Error())
		}
		why = append(why, fmt.Sprintf("%q: %s", e.Slot, msg))
	}
	if found {
		return best, bestInfo, nil
	}
	if len(skipped) == 0 {
		return nil, Info{}, &kindError{msg: "no save to continue: the store has no saves", errs: []error{ErrNotFound}}
	}
	return nil, Info{}, &kindError{msg: "no save to continue: no slot loads (" + strings.Join(why, "; ") + ")",
		errs: append([]error{ErrNotFound}, skipped...)}
}

// loadable is the slots store's check of a candidate save: what Load
// does with it, without keeping the result. A save from a newer schema is
// the slot's save (Load refuses it, and a save over it is refused by the
// newer-schema guard); it is not passed over.
func (s *Store[T]) loadable(f *format.File) error {
	if f.Header.Schema > s.opts.Schema {
		return nil
	}
	_, _, err := s.decode(f)
	return err
}

// decode decodes a verified save into a new T, through the migrations
// when it is from an older schema.
func (s *Store[T]) decode(f *format.File) (*T, bool, error) {
	h := f.Header
	v := new(T)
	if h.Schema == s.opts.Schema {
		if err := f.Decode(v); err != nil {
			return nil, false, mismatch[T](f, err)
		}
		return v, false, nil
	}
	g, err := f.DecodeGenericOld()
	if err != nil {
		return nil, false, err
	}
	g = normalize(g)
	for from := h.Schema; from < s.opts.Schema; from++ {
		m := s.opts.Migrations[from]
		if m == nil {
			return nil, false, fmt.Errorf("%w: no migration from schema %d to %d", ErrMigration, from, from+1)
		}
		if g, err = m(g); err != nil {
			return nil, false, fmt.Errorf("%w from schema %d to %d: %w", ErrMigration, from, from+1, err)
		}
		// The next step gets the generic form, whatever this one returned.
		if g, err = genericOf(g, s.lim); err != nil {
			return nil, false, fmt.Errorf("%w from schema %d to %d: its result: %w", ErrMigration, from, from+1, err)
		}
	}
	// Decoded as a save body is: validated first, bounded, msgpack's
	// panics caught.
	if err := decodeValue(g, v, s.lim); err != nil {
		return nil, false, fmt.Errorf("%w: the migrated save does not decode into %s: %w", ErrMigration, reflect.TypeFor[T](), err)
	}
	return v, true, nil
}

// List describes every slot from headers and metadata alone, for load
// menus; bodies are not read. Like Load, it sees every Save and Delete
// made before it, waiting (until ctx ends) for those still under way.
func (s *Store[T]) List(ctx context.Context) ([]SlotInfo, error) {
	out, err := s.list(ctx)
	return out, wrapErr("list", "", err)
}

func (s *Store[T]) list(ctx context.Context) ([]SlotInfo, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if err := s.awaitAll(ctx); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	entries, err := s.slots.List()
	if err != nil {
		return nil, err
	}
	out := make([]SlotInfo, 0, len(entries))
	for _, e := range entries {
		out = append(out, SlotInfo{Slot: e.Name, Status: Status(e.Status), Generation: e.Header.Generation,
			Created: e.Header.Created, Schema: e.Header.Schema, Size: e.Header.Size(), Meta: normalizeMeta(e.Meta),
			File: e.Slot, Reason: e.Reason})
	}
	return out, nil
}
