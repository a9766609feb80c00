package snapshot

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// The benchmark world: what a small arena game keeps per entity.

type bItem struct {
	Kind  string
	Count uint16
	Power float32
}

type bEntity struct {
	ID        uint32
	Name      string
	Pos, Vel  Vec
	Color     [4]uint8
	HP        int16
	Inventory []bItem
	Stats     map[string]int32
}

type bWorld struct {
	Tick     uint64
	Score    int64
	Entities []bEntity
	Flags    map[string]bool
}

func benchWorld(n int) *bWorld {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	w := &bWorld{Tick: 1, Flags: map[string]bool{"boss": true}}
	kinds := []string{"potion", "sword", "coin"}
	for i := range n {
		e := bEntity{ID: uint32(i), Name: fmt.Sprintf("e%06d", i), Pos: Vec{r.Float32(), r.Float32()},
			Color: [4]uint8{1, 2, 3, 255}, HP: 100, Stats: map[string]int32{"str": 1, "dex": 2}}
		for range r.IntN(4) {
			e.Inventory = append(e.Inventory, bItem{Kind: kinds[r.IntN(3)], Count: 1, Power: 0.5})
		}
		w.Entities = append(w.Entities, e)
	}
	return w
}

// handCopy is what a careful programmer writes for bWorld.
func handCopy(w *bWorld) *bWorld {
	c := *w
	c.Entities = slices.Clone(w.Entities)
	for i := range c.Entities {
		e := &c.Entities[i]
		e.Inventory = slices.Clone(e.Inventory)
		e.Stats = maps.Clone(e.Stats)
	}
	c.Flags = maps.Clone(w.Flags)
	return &c
}

// lean is the same world without a map per entity (stats as fields): the
// shape where copying is cheapest relative to encoding.
type leanEntity struct {
	ID        uint32
	Name      string
	Pos, Vel  Vec
	Color     [4]uint8
	HP        int16
	Str, Dex  int32
	Inventory []bItem
}

type leanWorld struct {
	Tick     uint64
	Score    int64
	Entities []leanEntity
	Flags    map[string]bool
}

func leanOf(w *bWorld) *leanWorld {
	l := &leanWorld{Tick: w.Tick, Flags: w.Flags}
	for _, e := range w.Entities {
		l.Entities = append(l.Entities, leanEntity{ID: e.ID, Name: e.Name, Pos: e.Pos, Color: e.Color, HP: e.HP,
			Str: e.Stats["str"], Dex: e.Stats["dex"], Inventory: e.Inventory})
	}
	return l
}

func handCopyLean(w *leanWorld) *leanWorld {
	c := *w
	c.Entities = slices.Clone(w.Entities)
	for i := range c.Entities {
		c.Entities[i].Inventory = slices.Clone(c.Entities[i].Inventory)
	}
	c.Flags = maps.Clone(w.Flags)
	return &c
}

// BenchmarkSnapshot alternates, in one loop, the snapshot, the hand-written
// copy and msgpack-encoding the world on the caller (what a game pays
// without a snapshot), and reports snapshot/hand and encode/snapshot.
// Targets: snapshot/hand at most 1.25; encode/snapshot at least 10.
func BenchmarkSnapshot(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		w := benchWorld(n)
		b.Run(fmt.Sprintf("maps/%dk", n/1000), func(b *testing.B) { benchSnapshot(b, w, handCopy) })
		b.Run(fmt.Sprintf("lean/%dk", n/1000), func(b *testing.B) { benchSnapshot(b, leanOf(w), handCopyLean) })
	}
}

func benchSnapshot[T any](b *testing.B, w *T, hand func(*T) *T) {
	c, err := For[T]()
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	var snap, handT, encode time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Copy(w); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		_ = hand(w)
		t2 := time.Now()
		buf.Reset()
		enc.Reset(&buf)
		enc.UseCompactInts(true)
		enc.SetSortMapKeys(true)
		if err := enc.Encode(w); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		snap, handT, encode = snap+t1.Sub(t0), handT+t2.Sub(t1), encode+t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(snap.Microseconds())/n, "snapshot-µs")
	b.ReportMetric(float64(handT.Microseconds())/n, "hand-µs")
	b.ReportMetric(float64(encode.Microseconds())/n, "encode-µs")
	b.ReportMetric(float64(snap)/float64(handT), "snapshot/hand")
	b.ReportMetric(float64(encode)/float64(snap), "encode/snapshot")
}
