package savegame

import (
	"context"
	"fmt"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots"
)

// Info describes a save: for Load, the one loaded; for List, the one Load
// would return.
type Info struct {
	Slot       string
	Generation uint64
	Created    time.Time
	Schema     uint32
	Size       int64          // bytes of the save file
	Meta       map[string]any // the metadata given to Save
	File       int            // which of the slot's two files holds it (0 = A, 1 = B)
	Status     slots.Status   // List: ok, recovered or corrupt
	Recovered  bool           // the newest save could not be used; this is the one before
	Reason     string         // why, when Recovered or corrupt
	Migrated   bool           // Load: migrations ran from Schema to Options.Schema
}

// Load reads the newest committed save of slot, verified, migrated to
// Options.Schema if it is older, and decoded. If the newest save cannot be
// used, for any reason (a damaged or odd file, metadata or a body that
// does not decode into T, a failed migration), Load returns the one before
// it with Info.Recovered and the reason. Only when no file of the slot
// yields a save does it fail, naming each file's reason. A save from a
// newer schema gives ErrNewerSchema.
func (s *Store[T]) Load(slot string) (*T, Info, error) {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, Info{}, ErrClosed
	}
	var (
		v   *T
		mig bool
	)
	// accept decodes a candidate the way the game will use it; an error
	// passes the file over for the next, as damage would. (slots has
	// already checked, and decoded, the metadata: Info.Meta.)
	accept := func(f *format.File) error {
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
		return nil, Info{}, fmt.Errorf("savegame: load %q: %w", slot, err)
	}
	h := f.Header
	info := Info{Slot: slot, Generation: h.Generation, Created: h.Created, Schema: h.Schema, Size: h.Size(),
		File: si.Slot, Recovered: si.Recovered, Reason: si.Reason, Status: slots.StatusOK, Meta: si.Meta, Migrated: mig}
	if si.Recovered {
		info.Status = slots.StatusRecovered
	}
	s.mu.Lock()
	s.schemas[slot] = h.Schema
	s.mu.Unlock()
	if h.Schema > s.opts.Schema {
		return nil, info, fmt.Errorf("savegame: load %q: %w (%d; this game reads up to %d)", slot, ErrNewerSchema, h.Schema, s.opts.Schema)
	}
	return v, info, nil
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
			return nil, false, err
		}
		return v, false, nil
	}
	g, err := f.DecodeGenericOld()
	if err != nil {
		return nil, false, err
	}
	for from := h.Schema; from < s.opts.Schema; from++ {
		m := s.opts.Migrations[from]
		if m == nil {
			return nil, false, fmt.Errorf("%w: no migration from schema %d to %d", ErrMigration, from, from+1)
		}
		if g, err = m(g); err != nil {
			return nil, false, fmt.Errorf("%w from schema %d to %d: %w", ErrMigration, from, from+1, err)
		}
	}
	b, err := format.MarshalBody(g)
	if err != nil {
		return nil, false, fmt.Errorf("%w: re-encoding the migrated save: %w", ErrMigration, err)
	}
	// Decoded as a save body is: validated first, msgpack's panics caught.
	if err := (&format.File{Body: b}).Decode(v); err != nil {
		return nil, false, fmt.Errorf("%w: decoding the migrated save: %w", ErrMigration, err)
	}
	return v, true, nil
}

// List describes every slot from headers and metadata alone, for load
// menus; bodies are not read.
func (s *Store[T]) List() ([]Info, error) {
	entries, err := s.slots.List()
	if err != nil {
		return nil, fmt.Errorf("savegame: list: %w", err)
	}
	out := make([]Info, 0, len(entries))
	for _, e := range entries {
		out = append(out, Info{Slot: e.Name, Generation: e.Header.Generation, Created: e.Header.Created,
			Schema: e.Header.Schema, Size: e.Header.Size(), Meta: e.Meta, File: e.Slot, Status: e.Status,
			Recovered: e.Status == slots.StatusRecovered, Reason: e.Reason})
	}
	return out, nil
}

// Delete waits for the slot's saves already made, then removes the slot
// durably.
func (s *Store[T]) Delete(ctx context.Context, slot string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	var wait []*Pending
	if q := s.queues[slot]; q != nil {
		wait = q.pendings(nil)
	}
	s.mu.Unlock()
	if err := waitAll(ctx, wait); err != nil {
		return err
	}
	if err := s.slots.Delete(slot); err != nil {
		return fmt.Errorf("savegame: delete %q: %w", slot, err)
	}
	s.mu.Lock()
	delete(s.schemas, slot)
	s.mu.Unlock()
	return nil
}

// NextGeneration returns the generation the next save of slot will be
// committed as. It is exact while no save of the slot is queued or in
// flight (the power-loss harness prints it before each save).
func (s *Store[T]) NextGeneration(slot string) (uint64, error) {
	g, err := s.slots.NextGeneration(slot)
	if err != nil {
		return 0, fmt.Errorf("savegame: %w", err)
	}
	return g, nil
}
