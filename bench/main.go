// Command bench measures savekit against what developers use instead, on
// the same world, in one run on one disk, and writes docs/bench.md and
// charts under docs/bench/.
//
//	cd bench && go run . [-quick]
//
// -quick (CI) uses fewer saves and sizes up to 16 MiB; the full run adds a
// 128 MiB world.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/savekit/savekit/demo/world"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

type sizeSpec struct {
	label string
	bytes int
	saves int // per peer
}

// result is one peer at one size.
type result struct {
	peer         string
	size         string
	stall, ack   []time.Duration
	load         time.Duration
	bytesPerSave float64
	floor        time.Duration // median floor in the same loop
	err          error
}

func main() {
	quick := flag.Bool("quick", false, "a short run (CI)")
	out := flag.String("out", "../docs", "where bench.md and bench/*.svg go")
	dir := flag.String("dir", "", "directory on the disk to measure (default: the system temporary directory)")
	child := flag.String("child", "", "internal: run one peer's saves (for flush counting)")
	childSize := flag.Int("child-bytes", 64<<10, "internal")
	childSaves := flag.Int("child-saves", 10, "internal")
	flag.Parse()
	if *child != "" {
		os.Exit(runChild(*child, *dir, *childSize, *childSaves))
	}
	base := *dir
	if base == "" {
		base = os.TempDir()
	}
	work, err := os.MkdirTemp(base, "savekit-bench-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(work)

	sizes := []sizeSpec{{"4 KiB", 4 << 10, 40}, {"64 KiB", 64 << 10, 40}, {"1 MiB", 1 << 20, 25}, {"16 MiB", 16 << 20, 8}}
	if *quick {
		for i := range sizes {
			sizes[i].saves = max(3, sizes[i].saves/4)
		}
	} else {
		sizes = append(sizes, sizeSpec{"128 MiB", 128 << 20, 4})
		for i := range sizes[:4] {
			sizes[i].saves *= 2
		}
	}
	start := time.Now()
	rev := commit()
	bpe := bytesPerEntity()
	var results []result
	for _, sz := range sizes {
		n := max(1, sz.bytes/bpe)
		for _, p := range peers() {
			progress("%s, %s: %d entities, %d saves", sz.label, p.name(), n, sz.saves)
			results = append(results, measure(p, filepath.Join(work, slug(p.name()+"-"+sz.label)), sz, n))
		}
	}
	progress("counting flushes and peak memory per save")
	counts := countFlushes(work)
	progress("replaying write sequences on the crash-simulating file system")
	crashes := crashTable()
	fmt.Fprintln(os.Stderr)
	if err := os.MkdirAll(filepath.Join(*out, "bench"), 0o755); err != nil {
		fail(err)
	}
	if err := charts(filepath.Join(*out, "bench"), sizes, results); err != nil {
		fail(err)
	}
	report := writeReport(rev, sizes, results, counts, crashes, *quick, time.Since(start), bpe)
	if err := os.WriteFile(filepath.Join(*out, "bench.md"), []byte(report), 0o644); err != nil {
		fail(err)
	}
	fmt.Printf("bench: wrote %s and charts in %v\n", filepath.Join(*out, "bench.md"), time.Since(start).Round(time.Second))
	// The report shows failures in place; the exit status says there were
	// some, so a check that only looks for the files cannot pass them.
	if problems := failures(results, counts, crashes); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "bench:", p)
		}
		os.Exit(1)
	}
}

// failures lists what went wrong in a run: a peer that failed, a flush
// count that could not be taken, a crash model that did not run, and any
// save savekit lost or left corrupt in the crash replay.
func failures(results []result, counts []flushCount, crashes []crashRow) []string {
	var out []string
	for _, r := range results {
		if r.err != nil {
			out = append(out, fmt.Sprintf("%s, %s: %v", r.peer, r.size, r.err))
		}
	}
	for _, c := range counts {
		if c.err != nil {
			out = append(out, fmt.Sprintf("flush count of %s: %v", c.peer, c.err))
		}
	}
	for _, c := range crashes {
		if c.states == 0 {
			out = append(out, fmt.Sprintf("crash replay of %s: %s", c.peer, c.note))
		}
		if c.peer == "savekit" && c.lost+c.bad > 0 {
			out = append(out, fmt.Sprintf("crash replay: savekit lost %d and corrupted %d", c.lost, c.bad))
		}
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "\r\033[K"+format, args...)
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, s)
}

// bytesPerEntity calibrates world sizes: encoded bytes per entity.
func bytesPerEntity() int {
	b, err := encode(world.New(1, 2000))
	if err != nil {
		fail(err)
	}
	return len(b) / 2000
}

// measure saves a world of n entities sz.saves times through p, each save
// alternated with the floor (the same bytes written over an existing file
// and flushed), then loads it back.
func measure(p peer, dir string, sz sizeSpec, n int) result {
	r := result{peer: p.name(), size: sz.label}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		r.err = err
		return r
	}
	defer os.RemoveAll(dir)
	w := world.New(7, n)
	body, err := encode(w)
	if err != nil {
		r.err = err
		return r
	}
	fl, err := openFloor(dir, len(body))
	if err != nil {
		r.err = err
		return r
	}
	defer fl.f.Close()
	if r.err = p.open(dir); r.err != nil {
		return r
	}
	defer p.close()
	// Two saves first, so every file exists (savekit's second slot file is
	// created by its second save): the steady state is measured.
	for range 2 {
		if _, _, r.err = p.save(w); r.err != nil {
			return r
		}
	}
	var floors []time.Duration
	w0 := wchar()
	for range sz.saves {
		w.Step(world.Input{Right: true})
		stall, ack, err := p.save(w)
		if err != nil {
			r.err = err
			return r
		}
		r.stall, r.ack = append(r.stall, stall), append(r.ack, ack)
		body, _ := encode(w)
		fd, err := fl.write(body)
		if err != nil {
			r.err = err
			return r
		}
		floors = append(floors, fd)
	}
	// Bytes written per save, less the floor's own writes.
	r.bytesPerSave = float64(wchar()-w0)/float64(sz.saves) - float64(len(body))
	r.floor = median(floors)
	t0 := time.Now()
	const loads = 3
	for range loads {
		if err := p.load(); err != nil {
			r.err = err
			return r
		}
	}
	r.load = time.Since(t0) / loads
	return r
}

// wchar is the bytes this process has passed to write calls so far.
func wchar() int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "wchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func median(d []time.Duration) time.Duration { return percentile(d, 50) }

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
