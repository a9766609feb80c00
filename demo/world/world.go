// Package world is the demo game's state and simulation: an arena with a
// player, thousands of moving entities and collectibles. It is
// deterministic from a seed (its random generator's state is part of the
// world, so a loaded save goes on exactly as the original would have), and
// Digest summarises the whole state, so a test or the power-loss harness
// can tell whether a loaded world is exactly the one that was saved. It
// does not import Ebitengine: tests and the harness use it headless.
package world

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/zeebo/xxh3"
)

// Arena size in world units.
const (
	Width  = 1280
	Height = 720
	// TicksPerSecond is the simulation rate.
	TicksPerSecond = 60
	// Gems on the field at any time, and how close the player must come.
	Gems         = 48
	PickupRadius = 28
)

// Vec is a 2D vector.
type Vec struct{ X, Y float32 }

// Item is one thing in an entity's inventory.
type Item struct {
	Kind  string
	Count uint16
	Power float32
}

// Entity is one of the arena's wanderers.
type Entity struct {
	ID        uint32
	Name      string
	Pos, Vel  Vec
	Color     [4]uint8
	HP        int16
	Inventory []Item
	Stats     map[string]int32
}

// Collectible is a gem the player picks up for points.
type Collectible struct {
	Pos   Vec
	Value int32
}

// Player is the one the keyboard moves.
type Player struct {
	Pos   Vec
	Speed float32
	HP    int32
}

// World is everything that is saved.
type World struct {
	Seed         uint64
	RNG          [2]uint64 // the generator's state: saved, so a load goes on identically
	Tick         uint64
	Score        int64
	Player       Player
	Entities     []Entity
	Collectibles []Collectible
}

// Input is the player's intent for one tick.
type Input struct {
	Left, Right, Up, Down bool
}

var (
	itemKinds = []string{"potion", "sword", "arrow", "coin", "key", "gem"}
	statNames = []string{"str", "dex", "int", "luck"}
)

// New makes a world of n entities from seed.
func New(seed uint64, n int) *World {
	w := &World{Seed: seed, RNG: [2]uint64{seed ^ 0x9e3779b97f4a7c15, seed*0xbf58476d1ce4e5b9 | 1}}
	w.Player = Player{Pos: Vec{Width / 2, Height / 2}, Speed: 4, HP: 100}
	w.Entities = make([]Entity, n)
	for i := range w.Entities {
		e := &w.Entities[i]
		e.ID = uint32(i)
		e.Name = fmt.Sprintf("wanderer-%05d", i)
		e.Pos = Vec{w.float(Width), w.float(Height)}
		e.Vel = Vec{w.float(2) - 1, w.float(2) - 1}
		e.Color = [4]uint8{uint8(64 + w.intn(192)), uint8(64 + w.intn(192)), uint8(64 + w.intn(192)), 255}
		e.HP = int16(50 + w.intn(50))
		for range w.intn(4) {
			e.Inventory = append(e.Inventory, Item{Kind: itemKinds[w.intn(len(itemKinds))], Count: uint16(1 + w.intn(9)), Power: w.float(1)})
		}
		e.Stats = map[string]int32{}
		for _, s := range statNames[:1+w.intn(len(statNames))] {
			e.Stats[s] = int32(w.intn(20))
		}
	}
	for range Gems {
		w.spawnCollectible()
	}
	return w
}

// next is a xorshift128+ generator whose state lives in the world.
func (w *World) next() uint64 {
	s1, s0 := w.RNG[0], w.RNG[1]
	w.RNG[0] = s0
	s1 ^= s1 << 23
	w.RNG[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26)
	return w.RNG[1] + s0
}

func (w *World) intn(n int) int          { return int(w.next() % uint64(n)) }
func (w *World) float(f float32) float32 { return float32(w.next()>>40) / float32(1<<24) * f }

func (w *World) spawnCollectible() {
	w.Collectibles = append(w.Collectibles, Collectible{Pos: Vec{w.float(Width), w.float(Height)}, Value: int32(1 + w.intn(10))})
}

// Step advances the world by one tick.
func (w *World) Step(in Input) {
	w.Tick++
	p := &w.Player
	if in.Left {
		p.Pos.X -= p.Speed
	}
	if in.Right {
		p.Pos.X += p.Speed
	}
	if in.Up {
		p.Pos.Y -= p.Speed
	}
	if in.Down {
		p.Pos.Y += p.Speed
	}
	p.Pos.X = clamp(p.Pos.X, 0, Width)
	p.Pos.Y = clamp(p.Pos.Y, 0, Height)

	for i := range w.Entities {
		e := &w.Entities[i]
		e.Pos.X += e.Vel.X
		e.Pos.Y += e.Vel.Y
		if e.Pos.X < 0 || e.Pos.X > Width {
			e.Vel.X = -e.Vel.X
			e.Pos.X = clamp(e.Pos.X, 0, Width)
		}
		if e.Pos.Y < 0 || e.Pos.Y > Height {
			e.Vel.Y = -e.Vel.Y
			e.Pos.Y = clamp(e.Pos.Y, 0, Height)
		}
	}
	// Now and then an entity finds something or trains.
	if len(w.Entities) > 0 && w.Tick%7 == 0 {
		e := &w.Entities[w.intn(len(w.Entities))]
		if len(e.Inventory) < 8 {
			e.Inventory = append(e.Inventory, Item{Kind: itemKinds[w.intn(len(itemKinds))], Count: 1, Power: w.float(1)})
		}
		e.Stats[statNames[w.intn(len(statNames))]]++
	}
	// The player collects gems within reach.
	kept := w.Collectibles[:0]
	for _, c := range w.Collectibles {
		if dx, dy := c.Pos.X-p.Pos.X, c.Pos.Y-p.Pos.Y; dx*dx+dy*dy < PickupRadius*PickupRadius {
			w.Score += int64(c.Value)
			continue
		}
		kept = append(kept, c)
	}
	w.Collectibles = kept
	for len(w.Collectibles) < Gems {
		w.spawnCollectible()
	}
}

// PlayTime is the simulated time played, in seconds.
func (w *World) PlayTime() float64 { return float64(w.Tick) / TicksPerSecond }

func clamp(v, lo, hi float32) float32 {
	return float32(math.Min(math.Max(float64(v), float64(lo)), float64(hi)))
}

// Digest is an xxh3-64 of the whole state in a canonical order (map keys
// sorted), equal for two worlds exactly when they would play on
// identically.
func (w *World) Digest() uint64 {
	h := xxh3.New()
	var b [8]byte
	u64 := func(v uint64) {
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
	}
	f32 := func(v float32) { u64(uint64(math.Float32bits(v))) }
	str := func(s string) { u64(uint64(len(s))); h.WriteString(s) }
	u64(w.Seed)
	u64(w.RNG[0])
	u64(w.RNG[1])
	u64(w.Tick)
	u64(uint64(w.Score))
	f32(w.Player.Pos.X)
	f32(w.Player.Pos.Y)
	f32(w.Player.Speed)
	u64(uint64(w.Player.HP))
	u64(uint64(len(w.Entities)))
	for i := range w.Entities {
		e := &w.Entities[i]
		u64(uint64(e.ID))
		str(e.Name)
		f32(e.Pos.X)
		f32(e.Pos.Y)
		f32(e.Vel.X)
		f32(e.Vel.Y)
		u64(uint64(binary.LittleEndian.Uint32(e.Color[:])))
		u64(uint64(e.HP))
		u64(uint64(len(e.Inventory)))
		for _, it := range e.Inventory {
			str(it.Kind)
			u64(uint64(it.Count))
			f32(it.Power)
		}
		keys := make([]string, 0, len(e.Stats))
		for k := range e.Stats {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		u64(uint64(len(keys)))
		for _, k := range keys {
			str(k)
			u64(uint64(e.Stats[k]))
		}
	}
	u64(uint64(len(w.Collectibles)))
	for _, c := range w.Collectibles {
		f32(c.Pos.X)
		f32(c.Pos.Y)
		u64(uint64(c.Value))
	}
	return h.Sum64()
}
