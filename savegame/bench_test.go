package savegame

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/vmihailenco/msgpack/v5"
)

// The benchmark world: 10,000 entities of a small arena game.

type bVec struct{ X, Y float32 }

type bItem struct {
	Kind  string
	Count uint16
	Power float32
}

type bEntity struct {
	ID        uint32
	Name      string
	Pos, Vel  bVec
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
		e := bEntity{ID: uint32(i), Name: fmt.Sprintf("e%06d", i), Pos: bVec{r.Float32(), r.Float32()},
			Color: [4]uint8{1, 2, 3, 255}, HP: 100, Stats: map[string]int32{"str": 1, "dex": 2}}
		for range r.IntN(4) {
			e.Inventory = append(e.Inventory, bItem{Kind: kinds[r.IntN(3)], Count: 1, Power: 0.5})
		}
		w.Entities = append(w.Entities, e)
	}
	return w
}

// BenchmarkSave saves the 10k-entity world to the real disk and reports
// the cost on the caller (Save's own time: the snapshot) and the
// acknowledged latency from Save to durable, and their ratio.
func BenchmarkSave(b *testing.B) {
	s, err := Open[bWorld](b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(bg)
	w := benchWorld(10000)
	s.Save("bench", w, nil).Wait(bg) // files exist: steady state
	s.Save("bench", w, nil).Wait(bg)
	var caller, acked, encode, write, sync time.Duration
	var size int64
	for b.Loop() {
		w.Tick++
		t0 := time.Now()
		p := s.Save("bench", w, nil)
		t1 := time.Now()
		if err := p.Wait(bg); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		caller += t1.Sub(t0)
		acked += t2.Sub(t0)
		st := p.Stats()
		encode += st.Encode
		write += st.Write
		sync += st.Sync
		size = st.Bytes
	}
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 / n }
	b.ReportMetric(ms(caller)*1000, "caller-µs")
	b.ReportMetric(ms(acked), "acked-ms")
	b.ReportMetric(ms(encode), "encode-ms")
	b.ReportMetric(ms(write), "write-ms")
	b.ReportMetric(ms(sync), "sync-ms")
	b.ReportMetric(float64(size), "bytes")
}

// BenchmarkLoad alternates Load (read, verify, decode) of the 10k-entity
// save with plain msgpack decoding of the same body bytes, and reports
// load/decode (target: at most 1.15).
func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	s, err := Open[bWorld](dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(bg)
	if err := s.Save("bench", benchWorld(10000), nil).Wait(bg); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "bench.0.sav"))
	if err != nil {
		b.Fatal(err)
	}
	f, err := format.Parse(data, nil)
	if err != nil {
		b.Fatal(err)
	}
	body := f.Body
	var load, plain time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, _, err := s.Load(context.Background(), "bench"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		var w bWorld
		if err := msgpack.Unmarshal(body, &w); err != nil {
			b.Fatal(err)
		}
		load += t1.Sub(t0)
		plain += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(load.Microseconds())/n, "load-µs")
	b.ReportMetric(float64(plain.Microseconds())/n, "decode-µs")
	b.ReportMetric(float64(load)/float64(plain), "load/decode")
	b.ReportMetric(float64(len(data)), "file-bytes")
}
