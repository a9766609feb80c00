package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/savekit/savekit/demo/internal/crashcheck"
)

// config is one run of the lab.
type config struct {
	Cuts     int           // power cuts
	Saves    int           // saves in the flush-point replay
	Seed     uint64        // world and cut times
	Entities int           // world size
	MaxDelay time.Duration // longest after a boot's first acknowledgement before its power is cut
	Broken   bool          // the negative control: a saver that never flushes
	// EveryWrite checks the replayed disk after every write, not only at
	// flushes, FUA writes and marks.
	EveryWrite bool
	Accel      string // qemu accelerator(s), e.g. "tcg" or "kvm:tcg"
	Cache      string // guest build cache
	Work       string // scratch directory (disk images, dumps)
	Verbose    bool   // copy the guest console to stderr
	// Fetch lets the lab install missing tools (as root) and download the
	// kernel into Cache when it is not there. The command sets it; tests
	// never do, so go test installs and downloads nothing.
	Fetch bool
	Logf  func(string, ...any)
}

// result is what a run found.
type result struct {
	Cut    *crashcheck.Checker // after the power cuts
	Replay *crashcheck.Checker // at the replayed flush points and marks

	Entries, Flushes, Marks int           // in the replayed log
	AckedReplayed           int           // acknowledged saves whose marks were replayed
	DistinctStates          int           // replayed states with a disk image not checked before
	SaveBytes               int64         // size of the save the replay's last state loaded
	BootTime                time.Duration // until the guest mounts the save disk, summed
	CutsAfterAck            int           // cuts that came after the boot's first acknowledgement
	CutsMidSave             int           // cuts after a "saving" line and before its "acked"
	FsckProblems            int           // checked disks on which e2fsck found problems
	FirstFsckProblem        string        // what it said the first time
}

func (r *result) corrupt() int   { return r.Cut.Corrupt + r.Replay.Corrupt }
func (r *result) lostAcked() int { return r.Cut.LostAcked + r.Replay.LostAcked }

// summary is the final line: exactly this format.
func (r *result) summary() string {
	return fmt.Sprintf("powercut: cuts=%d replayed=%d corrupt=%d lost_acked=%d",
		r.Cut.Cuts, r.Replay.Cuts, r.corrupt(), r.lostAcked())
}

const (
	diskSize = 32 << 20  // the save disk: an ext4 image
	logSize  = 256 << 20 // the dm-log-writes log disk (sparse)
)

type lab struct {
	cfg   config
	guest *guestFiles
	rng   *rand.Rand

	fsckProblems int    // checked disks on which e2fsck found problems
	firstProblem string // what it said the first time
}

// runLab builds the guest, cuts the power cfg.Cuts times, then replays a
// logged save sequence to every flush point and mark.
func runLab(cfg config) (*result, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := ensureTools(cfg.Fetch, cfg.Logf); err != nil {
		return nil, err
	}
	g, err := buildGuest(cfg.Cache, cfg.Work, cfg.Fetch, cfg.Logf)
	if err != nil {
		return nil, err
	}
	l := &lab{cfg: cfg, guest: g, rng: rand.New(rand.NewPCG(cfg.Seed, 0xc07))}
	res := &result{Cut: crashcheck.New(), Replay: crashcheck.New()}
	res.Replay.Noun = "replayed state"
	defer func() { res.FsckProblems, res.FirstFsckProblem = l.fsckProblems, l.firstProblem }()
	if err := l.cuts(res); err != nil {
		return res, err
	}
	return res, l.replay(res)
}

// mkfs makes a fresh ext4 image at path.
func mkfs(path string) error {
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(path, diskSize); err != nil {
		return err
	}
	bin, err := lookTool("mkfs.ext4")
	if err != nil {
		return err
	}
	// Initialise the inode tables and journal now, so that no lazy-init
	// thread writes in the background of the saves.
	out, err := exec.Command(bin, "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.ext4: %v\n%s", err, out)
	}
	return nil
}

// vm is one boot of the guest.
type vm struct {
	cmd   *exec.Cmd
	lines chan string // the guest's "savekit ..." lines, without the prefix
	mu    sync.Mutex
	tail  []string // the console's last lines, for errors
}

// boot starts the guest with args for its init and disks as virtio disks
// vda, vdb, ...
func (l *lab) boot(args []string, disks ...string) (*vm, error) {
	qemu, err := lookTool("qemu-system-x86_64")
	if err != nil {
		return nil, err
	}
	q := []string{
		"-nodefaults", "-no-reboot", "-display", "none", "-serial", "stdio",
		"-m", "512", "-smp", "1",
		"-kernel", l.guest.kernel.vmlinuz, "-initrd", l.guest.initramfs,
		"-append", "console=ttyS0 loglevel=1 panic=-1 -- " + strings.Join(args, " "),
	}
	for _, a := range strings.Split(l.cfg.Accel, ":") {
		q = append(q, "-accel", a)
	}
	for _, d := range disks {
		// cache=writeback: the guest sees a disk with a volatile write
		// cache, and its flushes become fdatasync on the image.
		q = append(q, "-drive", "file="+d+",format=raw,if=virtio,cache=writeback")
	}
	v := &vm{cmd: exec.Command(qemu, q...), lines: make(chan string, 1024)}
	out, err := v.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	v.cmd.Stderr = v.cmd.Stdout
	if err := v.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		r := bufio.NewReader(out)
		for {
			// A line the cut tore (no newline) is dropped: the guest
			// never starts a save before its "saving" line is out.
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			line = strings.TrimRight(line, "\r\n")
			if l.cfg.Verbose {
				fmt.Fprintln(os.Stderr, "guest:", line)
			}
			v.mu.Lock()
			v.tail = append(v.tail, line)
			if len(v.tail) > 40 {
				v.tail = v.tail[1:]
			}
			v.mu.Unlock()
			if i := strings.Index(line, "savekit "); i >= 0 {
				v.lines <- line[i+len("savekit "):]
			}
		}
		io.Copy(io.Discard, out)
		close(v.lines)
	}()
	return v, nil
}

func (v *vm) console() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return strings.Join(v.tail, "\n")
}

// kill is the power cut.
func (v *vm) kill() {
	v.cmd.Process.Kill()
	v.cmd.Wait()
}

// bootTimeout bounds how long a guest may take to boot.
const bootTimeout = 3 * time.Minute

// ackTimeout bounds how long a guest that mounted its disk may take to
// acknowledge its first save: recovery, Open, Load and one save, under TCG
// on a loaded machine. A guest that takes longer fails the run.
const ackTimeout = 5 * time.Minute

// cuts boots the guest on one image again and again, each time cutting its
// power at a random instant after its first acknowledgement of the boot,
// and checks the image between boots: the next boot finds it as the power
// cut left it. Waiting for an acknowledgement makes every cut count: a cut
// before it could only find what earlier boots had acknowledged, and on a
// slow machine a whole run of such cuts cannot catch a saver that
// acknowledges too early.
func (l *lab) cuts(res *result) error {
	if l.cfg.Cuts == 0 {
		return nil
	}
	img := filepath.Join(l.cfg.Work, "cut.img")
	if err := mkfs(img); err != nil {
		return err
	}
	args := l.guestArgs("cut")
	c := res.Cut
	start := time.Now()
	for k := 1; k <= l.cfg.Cuts; k++ {
		t0 := time.Now()
		v, err := l.boot(args, img)
		if err != nil {
			return err
		}
		mounting := make(chan struct{})
		acked := make(chan struct{}) // closed at this boot's first "acked" line
		type ended struct {
			err  error
			last string // the saver's last line, complete
		}
		done := make(chan ended, 1)
		go func() {
			var e ended
			sawMount, sawAck := false, false
			for line := range v.lines {
				switch {
				case line == "mounting":
					if !sawMount {
						sawMount = true
						close(mounting)
					}
				case strings.HasPrefix(line, "error "):
					if e.err == nil {
						e.err = fmt.Errorf("guest: %s", line)
					}
				default:
					if err := c.Line(line); err != nil && e.err == nil {
						e.err = err
					}
					e.last = line
					if !sawAck && strings.HasPrefix(line, "acked ") {
						sawAck = true
						close(acked)
					}
				}
			}
			done <- e
		}()
		stop := func(format string, args ...any) error {
			v.kill()
			e := <-done
			return fmt.Errorf("cut %d: %s (%v); console:\n%s", k, fmt.Sprintf(format, args...), e.err, v.console())
		}
		select {
		case <-mounting:
		case e := <-done:
			v.kill()
			return fmt.Errorf("cut %d: the guest stopped before it mounted its disk (%v); console:\n%s", k, e.err, v.console())
		case <-time.After(bootTimeout):
			return stop("the guest had not mounted its disk after %v", bootTimeout)
		}
		res.BootTime += time.Since(t0)
		select {
		case <-acked:
		case e := <-done:
			v.kill()
			return fmt.Errorf("cut %d: the guest stopped before it acknowledged a save (%v); console:\n%s", k, e.err, v.console())
		case <-time.After(ackTimeout):
			return stop("no acknowledged save within %v of mounting the disk, so no cut could test one", ackTimeout)
		}
		time.Sleep(time.Duration(l.rng.Int64N(int64(l.cfg.MaxDelay))))
		// Counted from what was read before the cut, not assumed from the
		// wait above: the tests check that every cut had one.
		select {
		case <-acked:
			res.CutsAfterAck++
		default:
		}
		v.kill()
		e := <-done
		if e.err != nil {
			return fmt.Errorf("cut %d: %v; console:\n%s", k, e.err, v.console())
		}
		if strings.HasPrefix(e.last, "saving ") {
			res.CutsMidSave++
		}
		o, err := l.check(img)
		if err != nil {
			return fmt.Errorf("cut %d: %v", k, err)
		}
		c.JudgeOutcome(o)
		l.cfg.Logf("cut %d/%d  acked generation %d  loads_ok=%d corrupt=%d lost_acked=%d recovered=%d  %s",
			k, l.cfg.Cuts, c.LastAcked, c.LoadsOK, c.Corrupt, c.LostAcked, c.Recovered, time.Since(start).Round(time.Second))
	}
	return nil
}

func (l *lab) guestArgs(mode string) []string {
	args := []string{"-mode", mode, "-seed", strconv.FormatUint(l.cfg.Seed, 10),
		"-entities", strconv.Itoa(l.cfg.Entities), "-saves", strconv.Itoa(l.cfg.Saves)}
	if l.cfg.Broken {
		args = append(args, "-broken")
	}
	return args
}

// check recovers a copy of img as the next boot would and inspects the
// store read out of it: e2fsck replays the journal and checks the file
// system; debugfs copies the store directory out without mounting. A file
// system e2fsck will not repair unattended counts as a corrupt save.
func (l *lab) check(img string) (crashcheck.Outcome, error) {
	var none crashcheck.Outcome
	cp := filepath.Join(l.cfg.Work, "check.img")
	if err := copyFile(img, cp); err != nil {
		return none, err
	}
	fsck, err := lookTool("e2fsck")
	if err != nil {
		return none, err
	}
	// First the journal alone, as the kernel replays it at mount.
	if code, out, err := run(fsck, "-E", "journal_only", "-p", cp); err != nil || code > 1 {
		return none, fmt.Errorf("e2fsck journal replay: exit %d %v\n%s", code, err, tail(out, 10))
	}
	// Then a full read-only check, which must find nothing: ext4 leaves
	// the superblock's free counts stale on purpose and e2fsck -n does not
	// count those, so exit status 0 means consistent.
	code, out, err := run(fsck, "-f", "-n", cp)
	if err != nil {
		return none, fmt.Errorf("e2fsck -n: %v\n%s", err, tail(out, 10))
	}
	if code != 0 {
		l.fsckProblems++
		if l.firstProblem == "" {
			l.firstProblem = tail(out, 12)
		}
		// Repair as a boot-time check would (-p); what it will not
		// repair unattended counts as a corrupt save.
		code, out, err = run(fsck, "-f", "-p", cp)
		switch {
		case err != nil || code > 4:
			return none, fmt.Errorf("e2fsck -p: exit %d %v\n%s", code, err, tail(out, 10))
		case code == 4:
			return crashcheck.Outcome{Err: fmt.Errorf("e2fsck found damage it cannot repair unattended:\n%s", tail(out, 10))}, nil
		}
	}
	dump := filepath.Join(l.cfg.Work, "dump")
	if err := os.RemoveAll(dump); err != nil {
		return none, err
	}
	if err := os.Mkdir(dump, 0o755); err != nil {
		return none, err
	}
	debugfs, err := lookTool("debugfs")
	if err != nil {
		return none, err
	}
	out, err = exec.Command(debugfs, "-R", "rdump /saves "+dump, cp).CombinedOutput()
	if err != nil {
		return none, fmt.Errorf("debugfs rdump: %v\n%s", err, tail(out, 10))
	}
	return crashcheck.Inspect(nil, filepath.Join(dump, "saves"), slot), nil
}

// run runs a command and returns its exit status and output; err is set
// only when it could not run or was killed.
func run(name string, args ...string) (int, []byte, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() >= 0 {
		return exit.ExitCode(), out, nil
	}
	if err != nil {
		return -1, out, err
	}
	return 0, out, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
