package slots

import (
	"github.com/savekit/savekit/format"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/savekit/savekit/slots/vfs"
)

// Benchmarks behind docs/durability.md. Run on the disk you care about:
//
//	go test ./slots -run '^$' -bench Commit -benchtime 200x
//
// Set SAVEKIT_BENCH_DIR to a directory on that disk (default: the system
// temporary directory, which must not be a tmpfs for the numbers to mean
// anything).

var commitSizes = []struct {
	name string
	size int
}{{"4KiB", 4 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}, {"16MiB", 16 << 20}}

func benchDir(b *testing.B) string {
	if d := os.Getenv("SAVEKIT_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// floorWriter is the floor every commit is compared with: the same bytes
// written over an existing file of the same size, then fdatasync.
type floorWriter struct {
	f   vfs.File
	buf []byte
}

func newFloor(b *testing.B, dir string, size int) *floorWriter {
	f, err := vfs.OS{}.OpenFile(filepath.Join(dir, "floor"), os.O_RDWR|os.O_CREATE)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	fw := &floorWriter{f: f, buf: make([]byte, size)}
	for i := range fw.buf {
		fw.buf[i] = byte(i * 7)
	}
	if _, err := f.WriteAt(fw.buf, 0); err != nil {
		b.Fatal(err)
	}
	if err := f.Datasync(); err != nil {
		b.Fatal(err)
	}
	return fw
}

// write writes and flushes the floor file, returning how long each took.
func (fw *floorWriter) write(b *testing.B) (write, sync time.Duration) {
	fw.buf[0]++
	t0 := time.Now()
	if _, err := fw.f.WriteAt(fw.buf, 0); err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	if err := fw.f.Datasync(); err != nil {
		b.Fatal(err)
	}
	return t1.Sub(t0), time.Since(t1)
}

// BenchmarkCommit measures acknowledged (durable) commit latency on the
// real disk, for the chosen protocol (inplace) and the textbook
// alternatives, each interleaved in one loop with the floor so that both
// share the disk's conditions. It reports µs per commit, the ratio to the
// floor, flushes per commit, and where the time goes (write: encode, hash
// and write the slot file and the pointer; sync: wait for the flushes). The body is a bin of the given size, so encoding costs almost
// nothing: this is the durability protocol's own cost.
func BenchmarkCommit(b *testing.B) {
	protocols := []struct {
		name  string
		proto protocol
	}{
		{"inplace", protocol{}},
		{"ordered", protocol{ordered: true}},
		{"renameptr", protocol{renamePointer: true}},
		{"renameslot", protocol{renameSlot: true}},
		{"renameboth", protocol{renameSlot: true, renamePointer: true}},
	}
	for _, sz := range commitSizes {
		for _, p := range protocols {
			b.Run(sz.name+"/"+p.name, func(b *testing.B) {
				dir := benchDir(b)
				body := make([]byte, sz.size)
				for i := range body {
					body[i] = byte(i)
				}
				s, err := Open(filepath.Join(dir, "store"), p.proto.options())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				// Two commits first: both slot files and the pointer exist.
				var st CommitStats
				for range 2 {
					if st, err = s.Commit("bench", enc(format.Params{}, body)); err != nil {
						b.Fatal(err)
					}
				}
				floor := newFloor(b, dir, int(st.Header.Size()))
				var spent, floorSpent, floorWrite, write, sync time.Duration
				flushes := 0
				b.SetBytes(st.Header.Size())
				for b.Loop() {
					t0 := time.Now()
					fw, _ := floor.write(b)
					floorWrite += fw
					t1 := time.Now()
					body[0]++
					st, err := s.Commit("bench", enc(format.Params{}, body))
					if err != nil {
						b.Fatal(err)
					}
					spent += time.Since(t1)
					floorSpent += t1.Sub(t0)
					flushes += st.Flushes
					write, sync = write+st.Encode+st.Write, sync+st.Sync
				}
				n := float64(b.N)
				us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / n }
				b.ReportMetric(us(floorSpent), "floor-µs")
				b.ReportMetric(us(floorWrite), "floor-write-µs")
				b.ReportMetric(us(spent), "commit-µs")
				b.ReportMetric(float64(spent)/float64(floorSpent), "commit/floor")
				b.ReportMetric(float64(flushes)/n, "flushes")
				b.ReportMetric(us(write), "write-µs")
				b.ReportMetric(us(sync), "sync-µs")
			})
		}
	}
}

// BenchmarkLoad measures Load (open, read, verify) of a committed save.
func BenchmarkLoad(b *testing.B) {
	for _, sz := range commitSizes {
		b.Run(sz.name, func(b *testing.B) {
			s, err := Open(benchDir(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Commit("bench", enc(format.Params{}, make([]byte, sz.size))); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(sz.size))
			for b.Loop() {
				if _, _, err := s.Load("bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
