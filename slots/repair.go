package slots

import (
	"fmt"

	"github.com/savekit/savekit/slots/vfs"
)

// Repair makes slot name's pointer name the save Load returns, when it does
// not already: a missing or damaged pointer, or one naming a damaged slot
// file, is rewritten to the newest valid slot (written in full and
// flushed, then renamed into place and the directory synced). It never
// removes or rewrites a slot file, so it never loses a valid save. It
// returns what it did, or "" when the slot needed nothing.
func (s *Store) Repair(name string) (string, error) {
	if s.readOnly {
		return "", fmt.Errorf("slots: repair %q: %w", name, ErrReadOnly)
	}
	st, err := s.slot(name, false)
	if err != nil {
		return "", err
	}
	defer st.mu.Unlock()
	r, err := s.readSlot(name, nil)
	if err != nil {
		return "", fmt.Errorf("slots: repair %q: %w", name, err)
	}
	if !r.info.Recovered {
		return "", nil
	}
	h := r.info.Header
	rec := pointer{Slot: r.info.Slot, Generation: h.Generation, Size: h.Size(), HeaderSum: h.HeaderSum}.marshal()
	if err := st.closeFiles(); err != nil {
		return "", err
	}
	var stats CommitStats
	err = s.writeNew(name, pointerFile(name), func(f vfs.File) (int64, error) {
		n, err := f.WriteAt(rec, 0)
		return int64(n), err
	}, &stats)
	if err != nil {
		return "", fmt.Errorf("slots: repair %q: %w", name, err)
	}
	st.resolved = false
	return fmt.Sprintf("rewrote %s to name %s, generation %d (it was: %s)", pointerFile(name), slotFile(name, r.info.Slot), h.Generation, r.info.Reason), nil
}
