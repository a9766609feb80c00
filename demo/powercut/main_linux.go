// Command powercut proves savekit against real power cuts: a real Linux
// kernel and a real ext4, from Debian's packages, in a virtual machine
// whose power the host cuts.
//
// It builds a guest once into a cache directory: the kernel and the
// modules it needs (virtio, ext4, device-mapper, dm-log-writes) from the
// linux-image-amd64 package, and an initramfs whose /init is this program,
// built statically. As PID 1 it mounts the save disk and runs the demo's
// saver, printing "saving GEN DIGEST" and "acked GEN DIGEST" on the serial
// console like demo/powerloss. It then does two things:
//
//   - Power cuts: boot the guest on an ext4 image and kill qemu at a random
//     instant after its first acknowledged save of the boot, while it
//     saves. The guest loses its page cache and whatever it had not yet
//     submitted to the disk. e2fsck replays the journal on a copy of the
//     image, debugfs copies the store out without mounting, and savekit's
//     own Load on the host must find every acknowledged save (the checks
//     of demo/powerloss). The next boot finds the image as the cut left it.
//   - Flush-point replay: one boot saves -saves times over dm-log-writes,
//     which logs every write and flush that reaches the disk onto a second
//     disk, with a mark after each acknowledgement. The host replays the
//     log onto the initial image and checks the disk at every flush, FUA
//     write and mark: every state a power cut could leave at those points.
//
// The last line is
//
//	powercut: cuts=N replayed=M corrupt=C lost_acked=L
//
// (M is the number of replayed states checked) and the exit status is
// non-zero unless C and L are 0. With -broken the guest's saver
// acknowledges saves without flushing them: the negative control, which
// must report violations.
//
// qemu runs under TCG unless -accel says otherwise; a boot takes seconds.
// Missing tools (qemu-system-x86, e2fsprogs) are installed with apt-get
// when running as root, and the kernel is downloaded into the cache once.
// With -prepare the command does only that, and exits: the lab's tests
// (SAVEKIT_LABS=1 go test ./demo/powercut) never install or download.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if os.Getpid() == 1 {
		guestMain()
		return
	}
	cfg := config{}
	flag.IntVar(&cfg.Cuts, "cuts", 20, "power cuts")
	flag.IntVar(&cfg.Saves, "saves", 60, "saves in the flush-point replay")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "seed for the world and the cut times")
	flag.IntVar(&cfg.Entities, "entities", 1000, "entities in the world")
	flag.DurationVar(&cfg.MaxDelay, "max-delay", 3*time.Second, "longest a guest saves after its first acknowledgement before its power is cut")
	flag.BoolVar(&cfg.EveryWrite, "every-write", true, "in the replay, check the disk after every write too, not only at flushes and marks")
	flag.BoolVar(&cfg.Broken, "broken", false, "negative control: the saver acknowledges saves it never flushed")
	flag.StringVar(&cfg.Accel, "accel", "tcg", "qemu accelerators to try, in order, separated by colons (e.g. kvm:tcg)")
	flag.StringVar(&cfg.Cache, "cache", defaultCache(), "where the guest (kernel, modules, initramfs) is built")
	prepare := flag.Bool("prepare", false, "install missing tools (as root) and download the kernel into the cache, then exit")
	keep := flag.Bool("keep", false, "keep the scratch directory (disk images, the log)")
	flag.BoolVar(&cfg.Verbose, "v", false, "copy the guest's console to stderr")
	flag.Parse()
	if cfg.MaxDelay <= 0 {
		fail(fmt.Errorf("-max-delay must be positive"))
	}
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	cfg.Fetch = true
	if *prepare {
		if err := ensureTools(true, cfg.Logf); err != nil {
			fail(err)
		}
		if err := os.MkdirAll(cfg.Cache, 0o755); err != nil {
			fail(err)
		}
		k, err := fetchKernel(cfg.Cache, true, cfg.Logf)
		if err != nil {
			fail(err)
		}
		fmt.Printf("prepared: %s in %s\n", k.pkg, cfg.Cache)
		return
	}
	work, err := os.MkdirTemp("", "savekit-powercut-")
	if err != nil {
		fail(err)
	}
	cfg.Work = work
	if *keep {
		cfg.Logf("scratch directory: %s", work)
	} else {
		defer os.RemoveAll(work)
	}
	start := time.Now()
	res, err := runLab(cfg)
	if err != nil {
		if !*keep {
			os.RemoveAll(work)
		}
		fail(err)
	}
	if res.Cut.Cuts > 0 {
		fmt.Printf("cuts: %d power cuts, %d after the boot's first acknowledgement, %d inside a save; loads_ok=%d recovered=%d, boot %.1fs on average\n",
			res.Cut.Cuts, res.CutsAfterAck, res.CutsMidSave, res.Cut.LoadsOK, res.Cut.Recovered, res.BootTime.Seconds()/float64(res.Cut.Cuts))
	}
	if res.Replay.Cuts > 0 {
		fmt.Printf("replay: log entries=%d flushes=%d marks=%d acked_saves=%d states=%d distinct_disks=%d loads_ok=%d recovered=%d save_bytes=%d\n",
			res.Entries, res.Flushes, res.Marks, res.AckedReplayed, res.Replay.Cuts, res.DistinctStates, res.Replay.LoadsOK, res.Replay.Recovered, res.SaveBytes)
	}
	for _, c := range []struct {
		name string
		p    string
	}{{"cuts", res.Cut.FirstProblem}, {"replay", res.Replay.FirstProblem}} {
		if c.p != "" {
			fmt.Printf("first problem (%s): %s\n", c.name, c.p)
		}
	}
	fmt.Printf("e2fsck: %d checked disks inconsistent after the journal replay\n", res.FsckProblems)
	if res.FirstFsckProblem != "" {
		fmt.Printf("first inconsistency:\n%s\n", res.FirstFsckProblem)
	}
	fmt.Printf("time: %s\n", time.Since(start).Round(time.Second))
	fmt.Println(res.summary())
	if res.corrupt() != 0 || res.lostAcked() != 0 {
		if !*keep {
			os.RemoveAll(work)
		}
		os.Exit(1)
	}
}

func defaultCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "savekit-powercut")
	}
	return filepath.Join(os.TempDir(), "savekit-powercut")
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "powercut:", err)
	os.Exit(2)
}
