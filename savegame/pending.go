package savegame

import (
	"context"
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

// Err is the save's error once Done is closed; nil before.
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
