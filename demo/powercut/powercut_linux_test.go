package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// logBuilder writes a dm-log-writes log the way the kernel lays it out.
type logBuilder struct {
	ss      int
	buf     []byte
	entries uint64
}

func newLogBuilder(ss int) *logBuilder { return &logBuilder{ss: ss, buf: make([]byte, ss)} }

// add appends an entry; nr is its length in sectors, which is the data's
// unless data is nil (a discard).
func (b *logBuilder) add(sector, nr, flags uint64, data []byte, mark string) {
	e := make([]byte, b.ss)
	le := binary.LittleEndian
	le.PutUint64(e[0:], sector)
	if data != nil {
		nr = uint64(len(data) / b.ss)
	}
	le.PutUint64(e[8:], nr)
	le.PutUint64(e[16:], flags)
	if mark != "" {
		le.PutUint64(e[24:], uint64(len(mark)))
		copy(e[32:], mark)
	}
	b.buf = append(b.buf, e...)
	b.buf = append(b.buf, data...)
	b.entries++
}

func (b *logBuilder) bytes() []byte {
	le := binary.LittleEndian
	le.PutUint64(b.buf[0:], lwMagic)
	le.PutUint64(b.buf[8:], lwVersion)
	le.PutUint64(b.buf[16:], b.entries)
	le.PutUint32(b.buf[24:], uint32(b.ss))
	return b.buf
}

// memDisk is an in-memory disk image.
type memDisk []byte

func (m memDisk) WriteAt(p []byte, off int64) (int, error) { return copy(m[off:], p), nil }

func TestLogReplaysWritesFlushesAndMarks(t *testing.T) {
	const ss = 512
	b := newLogBuilder(ss)
	a := bytes.Repeat([]byte{'a'}, 2*ss)
	c := bytes.Repeat([]byte{'c'}, ss)
	b.add(2, 0, 0, a, "")                    // two sectors at 2
	b.add(0, 0, lwFlush, nil, "")            // an empty flush
	b.add(5, 0, lwFUA, c, "")                // a FUA write
	b.add(0, 0, lwMark, nil, "acked_1_00ff") // a mark
	b.add(2, 1, lwDiscard, nil, "")          // discard sector 2: no data follows
	log := b.bytes()

	l, err := openLog(bytes.NewReader(log), int64(len(log)))
	if err != nil {
		t.Fatal(err)
	}
	disk := make(memDisk, 8*ss)
	var got []string
	var checkpoints []int
	err = l.each(func(e *lwEntry, data []byte) error {
		got = append(got, e.Mark)
		if e.checkpoint() {
			checkpoints = append(checkpoints, e.Index)
		}
		return l.apply(disk, int64(len(disk)), e, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[3] != "acked_1_00ff" {
		t.Fatalf("entries %q", got)
	}
	if want := []int{1, 2, 3}; !slices.Equal(checkpoints, want) {
		t.Fatalf("checkpoints %v, want %v", checkpoints, want)
	}
	want := make([]byte, 8*ss)
	copy(want[3*ss:], a[ss:]) // sector 2 was discarded (zeros), 3 kept
	copy(want[5*ss:], c)
	if !bytes.Equal(disk, want) {
		t.Fatal("replayed image differs from the writes")
	}
}

func TestLogRejectsDamagedLogs(t *testing.T) {
	const ss = 512
	good := func() *logBuilder {
		b := newLogBuilder(ss)
		b.add(1, 0, 0, make([]byte, ss), "")
		b.add(0, 0, lwMark, nil, "m")
		return b
	}
	le := binary.LittleEndian
	cases := map[string]func([]byte) []byte{
		"bad magic":            func(l []byte) []byte { l[0] ^= 1; return l },
		"version 2":            func(l []byte) []byte { le.PutUint64(l[8:], 2); return l },
		"sector size 100":      func(l []byte) []byte { le.PutUint32(l[24:], 100); return l },
		"more entries":         func(l []byte) []byte { le.PutUint64(l[16:], 3); return l },
		"huge write":           func(l []byte) []byte { le.PutUint64(l[ss+8:], 1<<60); return l },
		"write past the log":   func(l []byte) []byte { le.PutUint64(l[ss+8:], 3); return l },
		"mark of 600 bytes":    func(l []byte) []byte { le.PutUint64(l[3*ss+24:], 600); return l },
		"write past the disk":  func(l []byte) []byte { le.PutUint64(l[ss:], 1<<40); return l },
		"write at disk's end":  func(l []byte) []byte { le.PutUint64(l[ss:], 8); return l },
		"truncated super":      func(l []byte) []byte { return l[:20] },
		"truncated mid-record": func(l []byte) []byte { return l[:ss+ss/2] },
	}
	for name, damage := range cases {
		t.Run(name, func(t *testing.T) {
			log := damage(good().bytes())
			l, err := openLog(bytes.NewReader(log), int64(len(log)))
			if err == nil {
				disk := make(memDisk, 8*ss)
				err = l.each(func(e *lwEntry, data []byte) error {
					return l.apply(disk, int64(len(disk)), e, data)
				})
			}
			if err == nil {
				t.Fatal("accepted")
			}
			t.Log(err)
		})
	}
}

func TestCpioLists(t *testing.T) {
	cpio, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("no cpio to read the archive back")
	}
	var buf bytes.Buffer
	w := newCpio(&buf)
	w.dir("dev")
	w.char("dev/console", 5, 1)
	w.file("init", []byte("#!/bin/sh\n"))
	w.file("modules/order", []byte("x\n"))
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Fatalf("archive of %d bytes", buf.Len())
	}
	cmd := exec.Command(cpio, "-t", "-v")
	cmd.Stdin = &buf
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"dev\n", "dev/console\n", "init\n", "modules/order\n", "crw-------"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cpio -t does not show %q:\n%s", want, out)
		}
	}
}

// labsEnv opts in to the tests that run a lab: they boot qemu and take
// minutes, so the default suite (go test ./...) skips them.
const labsEnv = "SAVEKIT_LABS"

// labConfig is a small lab for tests. Without SAVEKIT_LABS=1 the test is
// skipped. With it, a machine that cannot run the lab fails the test: the
// test never installs tools or downloads the kernel (the lab command
// does: go run ./demo/powercut -prepare).
func labConfig(t *testing.T) config {
	t.Helper()
	if os.Getenv(labsEnv) != "1" {
		t.Skipf("boots qemu for minutes: run with %s=1 (after go run ./demo/powercut -prepare)", labsEnv)
	}
	if m := missingTools(); len(m) > 0 {
		t.Fatalf("the lab needs the Debian packages %v (.ci/run installs them)", m)
	}
	return config{
		Seed: 1, Entities: 300, MaxDelay: 2 * time.Second, Accel: "tcg",
		Cache: defaultCache(), Work: t.TempDir(), Logf: t.Logf,
	}
}

// TestLabPassesAGoodSaver keeps the negative control honest: the same lab
// finds nothing wrong with savekit's saver.
func TestLabPassesAGoodSaver(t *testing.T) {
	cfg := labConfig(t)
	cfg.Cuts, cfg.Saves, cfg.EveryWrite = 1, 5, true
	res, err := runLab(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res.summary())
	if res.corrupt() != 0 || res.lostAcked() != 0 || res.Cut.Cuts != 1 || res.CutsAfterAck != 1 || res.AckedReplayed != 5 || res.Replay.Cuts < 5 {
		t.Fatalf("%s; first problems: %q %q", res.summary(), res.Cut.FirstProblem, res.Replay.FirstProblem)
	}
}

// TestLabCatchesASaverThatDoesNotFlush is the negative control: a saver
// that acknowledges saves it never flushed must be caught, both by the
// replay (at the marks after its acknowledgements nothing it wrote has
// reached the disk) and by the power cuts (each comes after an
// acknowledgement of its boot, within 2 s: sooner than ext4's five-second
// journal commit, however slow the machine).
func TestLabCatchesASaverThatDoesNotFlush(t *testing.T) {
	cfg := labConfig(t)
	cfg.Cuts, cfg.Saves, cfg.Broken = 2, 10, true
	res, err := runLab(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s; first problems: %q %q", res.summary(), res.Cut.FirstProblem, res.Replay.FirstProblem)
	if res.Replay.OK() {
		t.Error("the replay passed a saver that never flushes")
	}
	if res.CutsAfterAck != res.Cut.Cuts {
		t.Errorf("%d of %d cuts came after an acknowledgement", res.CutsAfterAck, res.Cut.Cuts)
	}
	if res.Cut.OK() {
		t.Error("the power cuts passed a saver that never flushes")
	}
}

// FuzzLogReplay feeds arbitrary logs to the replayer: errors, never a
// panic, and no write outside the disk.
func FuzzLogReplay(f *testing.F) {
	const ss = 512
	b := newLogBuilder(ss)
	b.add(2, 0, 0, bytes.Repeat([]byte{'a'}, 2*ss), "")
	b.add(0, 0, lwFlush, nil, "")
	b.add(5, 0, lwFUA, bytes.Repeat([]byte{'c'}, ss), "")
	b.add(0, 0, lwMark, nil, "acked_1_00ff")
	b.add(2, 1, lwDiscard, nil, "")
	f.Add(b.bytes())
	f.Add(newLogBuilder(ss).bytes())
	f.Fuzz(func(t *testing.T, log []byte) {
		l, err := openLog(bytes.NewReader(log), int64(len(log)))
		if err != nil {
			return
		}
		disk := make(memDisk, 16*ss)
		l.each(func(e *lwEntry, data []byte) error {
			if int64(len(data)) > int64(len(log)) {
				t.Fatalf("entry %d: %d bytes of data from a %d-byte log", e.Index, len(data), len(log))
			}
			if err := l.apply(disk, int64(len(disk)), e, data); err != nil {
				return err
			}
			if len(disk) != 16*ss {
				t.Fatal("the disk grew")
			}
			return nil
		})
	})
}
