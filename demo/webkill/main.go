//go:build unix

// Command webkill proves that a save acknowledged in a browser survives the
// browser's death: it runs page/ (a Go WebAssembly program saving through
// savekit's IndexedDB backend) in headless Chromium, kills Chromium's whole
// process group with SIGKILL at a random instant while it saves, starts it
// again on the same profile, and checks that the page loads the newest
// acknowledged save or a newer one, intact. It then fills the origin's
// storage quota and checks the refused save fails as a full disk does,
// with the previous save still loading, then and after a restart.
//
//	go run ./demo/webkill -kills 60
//
// It prints one summary line per phase and exits non-zero if a save was
// lost or damaged. Needs Chromium (Debian: apt-get install chromium).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/savekit/savekit/demo/internal/browser"
)

func main() {
	kills := flag.Int("kills", 60, "browser kills")
	minMid := flag.Int("min-mid-save", 50, "fail unless at least this percentage of kills landed inside a save")
	chromium := flag.String("chromium", "", "the browser to run (default: chromium on PATH)")
	seed := flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed for the kill instants")
	verbose := flag.Bool("v", false, "print every run")
	flag.Parse()
	if err := run(*kills, *minMid, *chromium, *seed, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "webkill:", err)
		os.Exit(1)
	}
}

func run(kills, minMid int, chromium string, seed uint64, verbose bool) error {
	bin, err := browser.Find(chromium)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "webkill")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	www := filepath.Join(work, "www")
	if err := browser.BuildPage("./demo/webkill/page", www, "page.wasm", []byte(indexHTML)); err != nil {
		return err
	}
	// One server for the whole run: IndexedDB belongs to the origin, port
	// included, so every restart must load the same one.
	base, _, err := browser.Serve("127.0.0.1:0", www)
	if err != nil {
		return err
	}
	fmt.Printf("webkill: seed=%d browser=%s\n", seed, bin)
	h := &harness{bin: bin, base: base, work: work, rng: rand.New(rand.NewPCG(seed, 0)), verbose: verbose}
	if err := h.kills(kills, minMid); err != nil {
		return err
	}
	return h.quota()
}

const indexHTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>savekit kill test</title></head>
<body><script src="wasm_exec.js"></script><script>
const go = new Go();
WebAssembly.instantiateStreaming(fetch("page.wasm"), go.importObject).then(r => go.run(r.instance));
</script></body></html>
`

type harness struct {
	bin, base, work string
	rng             *rand.Rand
	verbose         bool
}

// session is one browser run of the page, as the harness saw it.
type session struct {
	mu        sync.Mutex
	b         *browser.Browser
	loaded    chan loadResult
	lastBegin int
	lastAck   int
	acks      int
	failure   string
	lines     chan string
	firstAck  chan struct{} // closed at the run's first acknowledgement
	drained   chan struct{} // closed once every message the browser sent is handled
	latencies []time.Duration
}

type loadResult struct {
	counter   int
	recovered bool
	err       error
}

// start launches the browser on profile and opens the page in mode.
func (h *harness) start(ctx context.Context, profile, mode string, before func(*browser.Page) error) (*session, error) {
	b, err := browser.Launch(h.bin, profile, filepath.Join(h.work, "chromium.log"))
	if err != nil {
		return nil, err
	}
	s := &session{b: b, loaded: make(chan loadResult, 1), lines: make(chan string, 64),
		firstAck: make(chan struct{}), drained: make(chan struct{})}
	events := b.Subscribe(1 << 16)
	go func() {
		defer close(s.drained)
		for ev := range events {
			text, ok := browser.Console(ev)
			if !ok || !strings.HasPrefix(text, "webkill: ") {
				continue
			}
			s.handle(strings.TrimPrefix(text, "webkill: "))
		}
	}()
	p, err := b.Open(ctx, "")
	if err == nil && before != nil {
		err = before(p)
	}
	if err == nil {
		err = p.Navigate(ctx, h.base+"index.html?mode="+mode)
	}
	if err != nil {
		b.Kill()
		return nil, err
	}
	return s, nil
}

func (s *session) handle(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := strings.Fields(line)
	num := func(i int) int {
		if i < len(f) {
			n, _ := strconv.Atoi(f[i])
			return n
		}
		return -1
	}
	switch f[0] {
	case "LOADED":
		select {
		case s.loaded <- loadResult{counter: num(1), recovered: len(f) > 3 && f[3] == "true"}:
		default:
		}
	case "CORRUPT":
		select {
		case s.loaded <- loadResult{err: errors.New(line)}:
		default:
		}
	case "BEGIN":
		s.lastBegin = num(1)
	case "ACK":
		s.lastAck = num(1)
		s.acks++
		s.latencies = append(s.latencies, time.Duration(num(2))*time.Microsecond)
		if s.acks == 1 {
			close(s.firstAck)
		}
	case "FAIL":
		s.failure = line
	}
	select {
	case s.lines <- line:
	default:
	}
}

// kill sends SIGKILL and returns the newest save the page acknowledged
// before it died: every acknowledgement the browser wrote to the pipe
// counts, also one read after the signal was sent. midSave is whether,
// as the harness saw it at the kill, a save had begun and not been
// acknowledged.
func (s *session) kill() (lastAck int, midSave bool) {
	s.mu.Lock()
	midSave = s.lastBegin > s.lastAck
	s.mu.Unlock()
	s.b.Kill()
	<-s.drained
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastAck, midSave
}

// awaitLoad waits for the page's load report.
func (s *session) awaitLoad(ctx context.Context) (loadResult, error) {
	select {
	case r := <-s.loaded:
		return r, nil
	case <-ctx.Done():
		s.mu.Lock()
		f := s.failure
		s.mu.Unlock()
		return loadResult{}, fmt.Errorf("the page reported no load within the timeout %s", f)
	}
}

func (h *harness) kills(n, minMid int) error {
	profile := filepath.Join(h.work, "profile-kill")
	acked, mid, lost, corrupt, recovered, acks := 0, 0, 0, 0, 0, 0
	var latencies []time.Duration
	for i := 0; i <= n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		s, err := h.start(ctx, profile, "kill", nil)
		if err != nil {
			cancel()
			return fmt.Errorf("run %d: %w", i, err)
		}
		r, err := s.awaitLoad(ctx)
		if err != nil {
			s.kill()
			cancel()
			return fmt.Errorf("run %d: %w", i, err)
		}
		switch {
		case r.err != nil:
			corrupt++
			fmt.Printf("run %d: %v\n", i, r.err)
		case r.counter < acked:
			lost++
			fmt.Printf("run %d: LOST: loaded save %d, but save %d was acknowledged before the kill\n", i, r.counter, acked)
		}
		if r.recovered {
			recovered++
		}
		if i == n {
			// The last run only checks what the last kill left.
			s.b.Close()
			cancel()
			if h.verbose {
				fmt.Printf("run %d: loaded %d (acknowledged %d)\n", i, r.counter, acked)
			}
			break
		}
		// Kill at a random instant once the run has acknowledged a save.
		select {
		case <-s.firstAck:
		case <-ctx.Done():
		}
		select {
		case <-time.After(time.Duration(h.rng.IntN(1500)) * time.Millisecond):
		case <-ctx.Done():
		}
		last, inSave := s.kill()
		cancel()
		s.mu.Lock()
		failure, runAcks := s.failure, s.acks
		latencies = append(latencies, s.latencies...)
		s.mu.Unlock()
		if failure != "" {
			return fmt.Errorf("run %d: the page failed: %s", i, failure)
		}
		if runAcks == 0 {
			return fmt.Errorf("run %d: no save was acknowledged before the kill", i)
		}
		acks += runAcks
		if last > acked {
			acked = last
		}
		if inSave {
			mid++
		}
		if h.verbose {
			fmt.Printf("run %d: loaded %d, then %d saves acknowledged up to %d, killed %s\n",
				i, r.counter, runAcks, last, map[bool]string{true: "inside a save", false: "between saves"}[inSave])
		}
	}
	fmt.Printf("webkill: kills=%d mid_save=%d acked_saves=%d lost=%d corrupt=%d recovered=%d\n", n, mid, acks, lost, corrupt, recovered)
	if len(latencies) > 0 {
		slices.Sort(latencies)
		q := func(p int) time.Duration { return latencies[(len(latencies)-1)*p/100].Round(100 * time.Microsecond) }
		fmt.Printf("save to durable (64 KiB-4 MiB, page drawing nothing): p25 %v, median %v, p75 %v, max %v over %d saves\n",
			q(25), q(50), q(75), latencies[len(latencies)-1].Round(100*time.Microsecond), len(latencies))
	}
	if lost > 0 || corrupt > 0 {
		return fmt.Errorf("%d acknowledged saves lost, %d loads corrupt", lost, corrupt)
	}
	if n > 0 && mid*100 < minMid*n {
		return fmt.Errorf("only %d of %d kills landed inside a save (want %d%%)", mid, n, minMid)
	}
	return nil
}

// quotaBytes is the storage quota the quota phase gives the origin: room
// for two small saves, not for a 32 MiB one.
const quotaBytes = 8 << 20

func (h *harness) quota() error {
	profile := filepath.Join(h.work, "profile-quota")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	origin := strings.TrimSuffix(h.base, "/")
	setQuota := func(p *browser.Page) error {
		return p.Call(ctx, "Storage.overrideQuotaForOrigin", map[string]any{"origin": origin, "quotaSize": quotaBytes}, nil)
	}
	s, err := h.start(ctx, profile, "quota", setQuota)
	if err != nil {
		return err
	}
	// Each path: the refused save fails as a full disk, and Load returns
	// the save acknowledged before it, not reported as damaged.
	ack, results := -1, map[string]string{}
	for done := false; !done; {
		select {
		case line := <-s.lines:
			if h.verbose {
				fmt.Println("quota page:", line)
			}
			f := strings.Fields(line)
			switch f[0] {
			case "ACK":
				ack, _ = strconv.Atoi(f[1])
			case "QUOTA":
				fmt.Println("quota:", line)
				if len(f) < 3 || f[2] != "true" {
					s.b.Kill()
					return fmt.Errorf("quota: the save beyond the quota did not fail as a full disk: %s", line)
				}
				results[f[1]] = "ENOSPC"
			case "AFTER":
				if len(f) < 4 || f[2] != strconv.Itoa(ack) || f[3] != "false" {
					s.b.Kill()
					return fmt.Errorf("quota: after the refused save Load returned %s, want save %d not recovered", line, ack)
				}
			case "QUOTADONE":
				done = true
			case "FAIL", "CORRUPT":
				s.b.Kill()
				return fmt.Errorf("quota: %s", line)
			}
		case <-ctx.Done():
			s.b.Kill()
			return fmt.Errorf("quota: no report within the timeout (%v)", results)
		}
	}
	s.b.Close()
	if len(results) != 2 {
		return fmt.Errorf("quota: refused saves seen: %v, want new-file and in-place", results)
	}
	// And after a restart, without the override.
	s, err = h.start(ctx, profile, "check", nil)
	if err != nil {
		return err
	}
	r, err := s.awaitLoad(ctx)
	s.b.Close()
	if err != nil {
		return err
	}
	if r.err != nil || r.counter != ack || r.recovered {
		return fmt.Errorf("quota: after a restart the page loaded save %d (recovered %v, %v), want %d", r.counter, r.recovered, r.err, ack)
	}
	fmt.Printf("webkill: quota=%d refused_saves=2 (new file, in place) error=ENOSPC previous_save_loads=true recovered=false after_restart=true\n", quotaBytes)
	return nil
}
