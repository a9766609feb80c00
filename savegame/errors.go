package savegame

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots"
)

// Errors a game branches on, with errors.Is. Every error the Store returns
// is an *Error that matches the kinds that apply to it, so a game imports
// savegame alone to tell them apart.
var (
	// ErrNotFound: the slot has no save (never saved, or deleted).
	ErrNotFound = errors.New("no save in this slot")
	// ErrCorrupt: the slot has files but every one is damaged (torn,
	// truncated, bit-flipped, or not a save at all), so nothing loads.
	// When one file is damaged and another intact but does not fit the
	// game's type, the error is ErrTypeMismatch (or ErrMigration) alone:
	// the fix is the game's, not a lost save.
	// A damaged newest save with a good one before it is not an error:
	// Load returns the older one with Info.Recovered.
	ErrCorrupt = errors.New("save damaged")
	// ErrTypeMismatch: the slot holds an intact save that does not decode
	// into the game's type (a field whose type changed, an array that
	// shrank): the game changed its world type without a new Schema and
	// a Migration. The message names the field and both types. The file
	// is not damaged; loading it with the type that wrote it works.
	ErrTypeMismatch = errors.New("save does not fit the game's type")
	// ErrNewerSchema: the save was written by a newer version of the game
	// (a higher schema than Options.Schema). Load refuses it; Save will
	// not overwrite it unless SaveOptions.Force.
	ErrNewerSchema = errors.New("save is from a newer version of the game")
	// ErrMigration: no migration is registered for a step between the
	// save's schema and the game's, or a migration failed.
	ErrMigration = errors.New("migration failed")
	// ErrLocked: another process (a second copy of the game) has the save
	// directory open. Open fails with it; close the other copy first.
	ErrLocked = errors.New("save directory is in use by another process")
	// ErrInvalidName: a slot name that is not 1-64 letters, digits, '-'
	// or '_' (not starting with '-'), is a Windows device name, or
	// differs only by case from a slot the store already has.
	ErrInvalidName = errors.New("invalid slot name")
	// ErrClosed: the Store was closed.
	ErrClosed = errors.New("store closed")
	// ErrMetadata: a Save's metadata was refused (it does not encode, or
	// does not decode back the way List reads it); nothing was written.
	ErrMetadata = errors.New("metadata refused")
	// ErrTooLarge: a save over Options.Limits: refused by Save (nothing
	// was written) or passed over by Load as it would be if damaged.
	ErrTooLarge = errors.New("save too large")
	// ErrUnloadable: a save was refused because Load could not read it
	// back (a part of the world that does not decode the way Load decodes
	// it), or a world type was refused at Open because no save of it
	// could load. Nothing is written for a refused save; the slot's
	// previous save still loads.
	ErrUnloadable = errors.New("would not load")
	// ErrShared is what a warning (Options.OnWarning) matches when the
	// world holds one pointer, slice or map in two places: the save holds
	// two copies, so after a load a change to one no longer shows in the
	// other. The save itself succeeds.
	ErrShared = errors.New("shared pointer saved as two copies")
	// ErrPending: Loading.Result before the load has finished.
	ErrPending = errors.New("not finished yet")
	// ErrPanic: copying, encoding or proving a save panicked (a bug in
	// savekit, or in the world's own SnapshotCopy or marshal methods).
	// The save failed; nothing was written; the game goes on.
	ErrPanic = errors.New("save panicked")
)

// Error is every error a Store returns: what failed (Op, Slot), the kinds
// it matches (errors.Is with ErrNotFound, ErrCorrupt ...), and the cause,
// which errors.As and errors.Is also reach.
type Error struct {
	Op   string // "open", "save", "load", "list", "delete", "close"
	Slot string // the slot, when the operation had one
	Err  error  // the cause
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("savegame: ")
	b.WriteString(e.Op)
	if e.Slot != "" {
		fmt.Fprintf(&b, " %q", e.Slot)
	}
	b.WriteString(": ")
	msg := trimPrefixes(e.Err.Error())
	if e.Slot != "" {
		// The layers below name the slot too ("delete \"q\": remove ..."):
		// once is enough.
		for _, op := range []string{e.Op, "commit", "load", "delete"} {
			msg = strings.TrimPrefix(msg, fmt.Sprintf("%s %q: ", op, e.Slot))
		}
	}
	b.WriteString(msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches the kinds of savegame's cause by the layers below, so a game
// never imports slots or format to branch on an error.
func (e *Error) Is(target error) bool {
	var below error
	switch target {
	case ErrNotFound:
		below = slots.ErrNotFound
	case ErrLocked:
		below = slots.ErrLocked
	case ErrInvalidName:
		below = slots.ErrInvalidName
	case ErrClosed:
		below = slots.ErrClosed
	case ErrTooLarge:
		below = format.ErrTooLarge
	case ErrCorrupt:
		// Every file damaged: no intact save that merely does not fit T
		// (that is ErrTypeMismatch or ErrMigration, whatever else is
		// damaged beside it).
		var ce *slots.CorruptError
		if !errors.As(e.Err, &ce) {
			return errors.Is(e.Err, slots.ErrCorrupt)
		}
		for _, r := range ce.Reasons {
			if errors.Is(r, ErrTypeMismatch) || errors.Is(r, ErrMigration) {
				return false
			}
		}
		return true
	default:
		// ErrTypeMismatch, ErrMigration and the rest are in the chain
		// itself (a slots.CorruptError unwraps to each file's reason).
		return false
	}
	return errors.Is(e.Err, below)
}

// wrapErr makes err an *Error of op on slot; nil stays nil. The causes
// the layers below word for themselves are worded for a game here: a slot
// with no save, a slot none of whose files loads, a locked directory.
func wrapErr(op, slot string, err error) error {
	if err == nil {
		return nil
	}
	var se *Error
	if errors.As(err, &se) && se.Op == op && se.Slot == slot {
		return err
	}
	switch {
	case errors.As(err, &se):
		// Already worded (Continue's skipped slots): kept as it is.
	case errors.Is(err, slots.ErrNotFound) && !errors.Is(err, ErrNotFound):
		err = &kindError{msg: ErrNotFound.Error(), errs: []error{ErrNotFound, err}}
	case errors.Is(err, slots.ErrLocked) && !errors.Is(err, ErrLocked):
		err = &kindError{msg: ErrLocked.Error() + ": is another copy of the game running? (" + trimPrefixes(err.Error()) + ")", errs: []error{ErrLocked, err}}
	}
	return &Error{Op: op, Slot: slot, Err: err}
}

// kindError is a cause worded anew, matching both its kind and the
// original error.
type kindError struct {
	msg  string
	errs []error
}

func (k *kindError) Error() string   { return k.msg }
func (k *kindError) Unwrap() []error { return k.errs }

// corruptError words a slot none of whose files loads: each file and why,
// in file order, and what to do.
type corruptError struct{ *slots.CorruptError }

func (c *corruptError) Error() string {
	var b strings.Builder
	damaged, mismatch, migration := false, false, false
	for i, f := range slices.Sorted(maps.Keys(c.Reasons)) {
		if i > 0 {
			b.WriteString("; ")
		}
		r := c.Reasons[f]
		switch {
		case errors.Is(r, ErrTypeMismatch):
			mismatch = true
		case errors.Is(r, ErrMigration):
			migration = true
		default:
			damaged = true
		}
		fmt.Fprintf(&b, "%s: %s", f, trimPrefixes(r.Error()))
	}
	switch {
	case !damaged && !mismatch:
		return "no file of the slot migrates to this game's schema (" + b.String() + ")"
	case mismatch:
		return "no file of the slot loads into the game's type (" + b.String() + "); load it with the type that wrote it, or raise Options.Schema and register a Migration"
	case migration:
		return "no file of the slot loads (" + b.String() + ")"
	}
	return "no file of the slot holds a valid save (" + b.String() + ")"
}

func (c *corruptError) Unwrap() error { return c.CorruptError }

// causeText is err's message for use inside another: an *Error's cause
// alone (the outer message names the operation), without the layers'
// prefixes.
func causeText(err error) string {
	var se *Error
	if errors.As(err, &se) {
		err = se.Err
	}
	return trimPrefixes(err.Error())
}

// trimPrefixes drops the package prefixes the layers below put on their
// messages, so that a message says once that it is savegame's.
func trimPrefixes(s string) string {
	for _, p := range []string{"savegame: ", "slots: ", "format: ", "vfs: "} {
		s = strings.ReplaceAll(s, ": "+p, ": ")
		s = strings.ReplaceAll(s, "("+p, "(")
	}
	for {
		t := s
		for _, p := range []string{"savegame: ", "slots: ", "format: ", "vfs: "} {
			t = strings.TrimPrefix(t, p)
		}
		if t == s {
			return s
		}
		s = t
	}
}
