package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/savekit/savekit/demo/world"
)

// flushCount is what strace saw one peer do.
type flushCount struct {
	peer       string
	perSave    float64 // fsync + fdatasync calls per save
	peakRSSKiB int64
	err        error
}

// runChild is the child side: one peer, a first save, then n more.
func runChild(name, dir string, size, n int) int {
	for _, p := range peers() {
		if slug(p.name()) != name {
			continue
		}
		if err := p.open(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		w := world.New(7, max(1, size/bytesPerEntity()))
		for i := 0; i <= n; i++ {
			w.Step(world.Input{})
			if _, _, err := p.save(w); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
		}
		p.close()
		// The child's own peak resident set, for the memory column.
		if b, err := os.ReadFile("/proc/self/status"); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
					fmt.Println("peak-kib", strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				}
			}
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "no peer", name)
	return 2
}

// countFlushes runs each peer as a child under strace -c, once with 2
// saves and once with 12 (64 KiB world): the difference over 10 is its
// flushes per save in the steady state, past the saves that create files.
// Then each peer saves the 16 MiB world 3 times in a child of its own, for
// its peak resident set.
func countFlushes(work string) []flushCount {
	exe, err := os.Executable()
	var out []flushCount
	for _, p := range peers() {
		fc := flushCount{peer: p.name()}
		if err != nil {
			fc.err = err
			out = append(out, fc)
			continue
		}
		if _, lerr := exec.LookPath("strace"); lerr != nil {
			fc.err = fmt.Errorf("strace not installed")
		} else {
			var calls [2]int
			for k, saves := range []int{1, 11} {
				dir := filepath.Join(work, "flush-"+slug(p.name())+strconv.Itoa(k))
				os.MkdirAll(dir, 0o700)
				stats := filepath.Join(work, "strace.txt")
				cmd := exec.Command("strace", "-f", "-c", "-e", "trace=fsync,fdatasync", "-o", stats,
					exe, "-child", slug(p.name()), "-dir", dir, "-child-bytes", strconv.Itoa(64<<10), "-child-saves", strconv.Itoa(saves))
				cmd.Stderr = os.Stderr
				if err := cmd.Run(); err != nil {
					fc.err = err
					break
				}
				calls[k] = parseStrace(stats)
				os.RemoveAll(dir)
			}
			fc.perSave = float64(calls[1]-calls[0]) / 10
		}
		dir := filepath.Join(work, "mem-"+slug(p.name()))
		os.MkdirAll(dir, 0o700)
		cmd := exec.Command(exe, "-child", slug(p.name()), "-dir", dir, "-child-bytes", strconv.Itoa(16<<20), "-child-saves", "2")
		cmd.Stderr = os.Stderr
		if outb, err := cmd.Output(); err == nil {
			for _, l := range strings.Split(string(outb), "\n") {
				if v, ok := strings.CutPrefix(l, "peak-kib "); ok {
					fc.peakRSSKiB, _ = strconv.ParseInt(v, 10, 64)
				}
			}
		}
		os.RemoveAll(dir)
		out = append(out, fc)
	}
	return out
}

// parseStrace sums the calls column of strace -c output for fsync and
// fdatasync.
func parseStrace(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		name := fields[len(fields)-1]
		if name != "fsync" && name != "fdatasync" {
			continue
		}
		// % time, seconds, usecs/call, calls, [errors,] syscall
		if n, err := strconv.Atoi(fields[3]); err == nil {
			total += n
		}
	}
	return total
}
