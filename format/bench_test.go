package format

import (
	"bufio"
	"bytes"
	"io"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Benchmarks behind docs/format.md. Run:
//
//	go test ./format -run '^$' -bench . -benchmem

var benchSizes = []struct {
	name string
	size int
}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

type discardAt struct{}

func (discardAt) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

// benchFile returns a world of about size bytes, and its save file.
func benchFile(b *testing.B, size int) (*testWorld, []byte) {
	w := makeWorld(uint64(size), size)
	file, _, err := Marshal(Params{Generation: 1, Meta: map[string]any{"title": "bench"}}, w, nil)
	if err != nil {
		b.Fatal(err)
	}
	return w, file
}

// BenchmarkEncode streams a world through Encode. Compare its allocs/op with
// BenchmarkEncodeMsgpack: the difference is what Encode adds, and it does not
// grow with the body.
func BenchmarkEncode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			w, file := benchFile(b, s.size)
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			p := Params{Generation: 1, Meta: map[string]any{"title": "bench"}}
			for b.Loop() {
				if _, err := Encode(discardAt{}, p, w, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(file)), "file-bytes")
		})
	}
}

// BenchmarkEncodeMsgpack is msgpack's own cost for the same body with the
// same settings, into a buffered writer: the baseline for BenchmarkEncode.
func BenchmarkEncodeMsgpack(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			w, file := benchFile(b, s.size)
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			bw := bufio.NewWriterSize(io.Discard, writeBufSize)
			enc := msgpack.NewEncoder(bw)
			for b.Loop() {
				bw.Reset(io.Discard)
				enc.Reset(bw)
				configureEncoder(enc)
				if err := enc.Encode(w); err != nil {
					b.Fatal(err)
				}
				_ = bw.Flush()
			}
		})
	}
}

// BenchmarkVerify is Parse: header, both checksums and structure validation.
func BenchmarkVerify(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			_, file := benchFile(b, s.size)
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(file, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode is plain msgpack decoding of the body into the world type:
// the baseline Verify is measured against.
func BenchmarkDecode(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			_, file := benchFile(b, s.size)
			f, _ := Parse(file, nil)
			b.SetBytes(int64(len(f.Body)))
			b.ReportAllocs()
			for b.Loop() {
				var w testWorld
				if err := msgpack.Unmarshal(f.Body, &w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoad is what a load costs through this package: Parse then
// Decode.
func BenchmarkLoad(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			_, file := benchFile(b, s.size)
			b.SetBytes(int64(len(file)))
			b.ReportAllocs()
			for b.Loop() {
				f, err := Parse(file, nil)
				if err != nil {
					b.Fatal(err)
				}
				var w testWorld
				if err := f.Decode(&w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyOverhead measures verification and plain decoding of the
// same file alternately in one run and reports verify/decode: the fraction
// verification adds to a load (target: at most 0.15 at 1 MiB).
func BenchmarkVerifyOverhead(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			_, file := benchFile(b, s.size)
			f, _ := Parse(file, nil)
			var verify, decode time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := Parse(file, nil); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				var w testWorld
				if err := msgpack.Unmarshal(f.Body, &w); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				verify += t1.Sub(t0)
				decode += t2.Sub(t1)
			}
			b.ReportMetric(float64(verify)/float64(decode), "verify/decode")
		})
	}
}

// BenchmarkEncodingOptions compares the msgpack settings a format could use
// on the 1 MiB world, all alternated in one loop: body size, and encode and
// decode time as ratios to the chosen settings. docs/format.md explains the
// choice (maps keyed by name, compact ints, sorted keys).
func BenchmarkEncodingOptions(b *testing.B) {
	w := makeWorld(7, 1<<20)
	opts := []struct {
		name string
		set  func(*msgpack.Encoder)
	}{
		{"chosen", configureEncoder},
		{"unsorted", func(e *msgpack.Encoder) { e.UseCompactInts(true) }},
		{"noncompact", func(e *msgpack.Encoder) { e.SetSortMapKeys(true) }},
		{"arrays", func(e *msgpack.Encoder) { configureEncoder(e); e.UseArrayEncodedStructs(true) }},
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	encode := func(set func(*msgpack.Encoder)) {
		buf.Reset()
		enc.Reset(&buf)
		set(enc)
		if err := enc.Encode(w); err != nil {
			b.Fatal(err)
		}
	}
	bodies := make([][]byte, len(opts))
	for i, o := range opts {
		encode(o.set)
		bodies[i] = append([]byte(nil), buf.Bytes()...)
	}
	encT := make([]time.Duration, len(opts))
	decT := make([]time.Duration, len(opts))
	for b.Loop() {
		for i, o := range opts {
			t0 := time.Now()
			encode(o.set)
			t1 := time.Now()
			var back testWorld
			if err := msgpack.Unmarshal(bodies[i], &back); err != nil {
				b.Fatal(err)
			}
			encT[i] += t1.Sub(t0)
			decT[i] += time.Since(t1)
		}
	}
	for i, o := range opts {
		b.ReportMetric(float64(len(bodies[i])), o.name+"-bytes")
		if i > 0 {
			b.ReportMetric(float64(encT[i])/float64(encT[0]), o.name+"-encode/chosen")
			b.ReportMetric(float64(decT[i])/float64(decT[0]), o.name+"-decode/chosen")
		}
	}
}

// BenchmarkLoadOverhead alternates a full load through this package (Parse:
// checksums and validation, then Decode through the guarded reader) with
// plain msgpack.Unmarshal of the same body, and reports load/unmarshal.
func BenchmarkLoadOverhead(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			_, file := benchFile(b, s.size)
			f, _ := Parse(file, nil)
			var load, plain time.Duration
			for b.Loop() {
				t0 := time.Now()
				pf, err := Parse(file, nil)
				if err != nil {
					b.Fatal(err)
				}
				var w testWorld
				if err := pf.Decode(&w); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				var w2 testWorld
				if err := msgpack.Unmarshal(f.Body, &w2); err != nil {
					b.Fatal(err)
				}
				load += t1.Sub(t0)
				plain += time.Since(t1)
			}
			b.ReportMetric(float64(load)/float64(plain), "load/unmarshal")
		})
	}
}
