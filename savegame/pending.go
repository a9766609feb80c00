package savegame

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Stats describes one save, from the call to Save to its acknowledgement.
type Stats struct {
	Snapshot time.Duration // copying the world on the caller (or encoding it, with EncodeOnCaller)
	Queue    time.Duration // waiting for the writer: an earlier save in flight
	Check    time.Duration // proving on the writer that the save decodes as Load will decode it
	Encode   time.Duration // encoding the copy (streamed: hashing and validating too)
	Write    time.Duration // in write calls: the slot file and the pointer
	Sync     time.Duration // waiting for the flushes
	Total    time.Duration // from Save to acknowledgement
	Bytes    int64         // bytes written
	Flushes  int           // flushes issued
	File     int           // which of the slot's two files the save went to (0 = A, 1 = B)
}

// Pending is the future result of a Save. A Save replaced by a newer one
// of the same slot before it started resolves with the newer save's result.
type Pending struct {
	done  chan struct{}
	once  sync.Once
	err   error
	gen   uint64
	stats Stats
}

func newPending() *Pending {
	return &Pending{done: make(chan struct{})}
}

func (p *Pending) resolve(gen uint64, st Stats, err error) {
	p.once.Do(func() {
		p.gen, p.stats, p.err = gen, st, err
		close(p.done)
	})
}

// Done is closed when the save is durable or has failed.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait blocks until the save is resolved or ctx ends, and returns the
// save's error, or ctx's.
func (p *Pending) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// State is where a save stands, for a game that polls each frame.
type State int

// States of a Pending.
const (
	StatePending State = iota // not yet durable, not failed: still queued or being written
	StateSaved                // durable: Load returns it (or a newer save)
	StateFailed               // failed: Err says why; the slot's previous save still loads
)

func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateSaved:
		return "saved"
	case StateFailed:
		return "failed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// State tells pending, saved and failed apart without blocking; Err alone
// is nil both while a save is pending and once it is saved.
func (p *Pending) State() State {
	select {
	case <-p.done:
		if p.err != nil {
			return StateFailed
		}
		return StateSaved
	default:
		return StatePending
	}
}

// Err is the save's error once Done is closed; nil before (see State).
func (p *Pending) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Generation is the generation the save was committed as, once Done; 0
// before and on failure.
func (p *Pending) Generation() uint64 {
	select {
	case <-p.done:
		return p.gen
	default:
		return 0
	}
}

// Stats describes the save once Done.
func (p *Pending) Stats() Stats {
	select {
	case <-p.done:
		return p.stats
	default:
		return Stats{}
	}
}
