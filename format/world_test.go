package format

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/zeebo/xxh3"
)

// Test data shaped like a game world: what savekit bodies look like.

type testItem struct {
	Kind  string
	Count uint16
	Power float32
}

type testEntity struct {
	ID        uint32
	Name      string
	X, Y      float32
	VX, VY    float32
	Color     uint32
	HP        int16
	Alive     bool
	Tags      []string
	Inventory []testItem
	Stats     map[string]int32
}

type testWorld struct {
	Seed     int64
	Tick     uint64
	Name     string
	Started  time.Time
	Score    int64
	Entities []testEntity
	Flags    map[string]bool
}

// makeWorld returns a deterministic world whose encoding is about size bytes.
func makeWorld(seed uint64, size int) *testWorld {
	r := rand.New(rand.NewPCG(seed, 0x5a5e))
	w := &testWorld{
		Seed:    int64(seed),
		Tick:    r.Uint64N(1 << 40),
		Name:    "arena",
		Started: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
		Score:   r.Int64N(1 << 30),
		Flags:   map[string]bool{"tutorial_done": true, "boss_seen": false},
	}
	tags := []string{"enemy", "flying", "boss", "loot", "npc", "shiny"}
	kinds := []string{"potion", "sword", "arrow", "coin", "key"}
	// Each entity encodes to 147 bytes on average (measured by
	// TestMakeWorldSize).
	n := max(1, size/147)
	for i := range n {
		e := testEntity{
			ID:    uint32(i),
			Name:  fmt.Sprintf("entity-%06d", i),
			X:     r.Float32() * 4096,
			Y:     r.Float32() * 4096,
			VX:    r.Float32()*2 - 1,
			VY:    r.Float32()*2 - 1,
			Color: r.Uint32(),
			HP:    int16(r.IntN(200) - 20),
			Alive: r.IntN(10) != 0,
			Tags:  []string{tags[r.IntN(len(tags))]},
			Stats: map[string]int32{"str": r.Int32N(20), "dex": r.Int32N(20)},
		}
		for range r.IntN(3) {
			e.Inventory = append(e.Inventory, testItem{Kind: kinds[r.IntN(len(kinds))], Count: uint16(r.IntN(99)), Power: r.Float32()})
		}
		w.Entities = append(w.Entities, e)
	}
	return w
}

// rawFile builds a container around arbitrary meta and body bytes with
// correct checksums, bypassing the writer's validation: the reader's checks
// are then the only defence.
func rawFile(meta, body []byte) []byte {
	h := Header{
		Schema:     1,
		MetaLen:    uint32(len(meta)),
		Generation: 1,
		BodyLen:    uint64(len(body)),
		MetaSum:    xxh3.Hash(meta),
	}
	payload := append(append([]byte{}, meta...), body...)
	s := xxh3.Hash128(payload)
	h.Sum = Sum128{Hi: s.Hi, Lo: s.Lo}
	b, _ := h.AppendBinary(nil)
	return append(b, payload...)
}

// fixHeaderSum recomputes the header checksum of b after a test edited it.
func fixHeaderSum(b []byte) {
	binary.LittleEndian.PutUint64(b[HeaderSize-8:], xxh3.Hash(b[:HeaderSize-8]))
}
