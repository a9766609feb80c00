package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/savekit/savekit/demo/internal/crashcheck"
	"github.com/savekit/savekit/demo/world"
	"github.com/savekit/savekit/savegame"
	"github.com/savekit/savekit/slots/vfs"
)

// The guest: this program as the initramfs's /init, PID 1 of a kernel with
// no other user space. Everything it says to the host is a line starting
// "savekit " on the serial console.

const (
	saveDisk = "/dev/vda"
	logDisk  = "/dev/vdb"
	mnt      = "/mnt"
	storeDir = "/mnt/saves"
	lwName   = "savekit-log"
	slot     = "powercut"
)

// guestMain never returns: it powers the machine off.
func guestMain() {
	err := guest(os.Args[1:])
	if err != nil {
		say("error %v", err)
	}
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func say(format string, args ...any) {
	// One write(2) per line to the console, which is the serial port.
	fmt.Fprintf(os.Stdout, "savekit "+format+"\n", args...)
}

func guest(args []string) error {
	fs := flag.NewFlagSet("guest", flag.ContinueOnError)
	mode := fs.String("mode", "cut", "cut: save until the power goes; log: a save sequence over dm-log-writes")
	seed := fs.Uint64("seed", 1, "world seed")
	entities := fs.Int("entities", 1000, "entities in the world")
	saves := fs.Int("saves", 60, "saves to make in log mode")
	broken := fs.Bool("broken", false, "acknowledge saves without flushing them (negative control)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.MkdirAll("/dev", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount devtmpfs: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	if err := loadModules("/modules/order"); err != nil {
		return err
	}
	var fsys vfs.FS = vfs.OS{}
	if *broken {
		fsys = crashcheck.NoSync(fsys)
	}
	switch *mode {
	case "cut":
		if err := waitFor(saveDisk); err != nil {
			return err
		}
		say("mounting")
		if err := unix.Mount(saveDisk, mnt, "ext4", 0, ""); err != nil {
			return fmt.Errorf("mount %s: %w", saveDisk, err)
		}
		return saveLoop(fsys, *seed, *entities, -1, nil)
	case "log":
		return logRun(fsys, *seed, *entities, *saves)
	}
	return fmt.Errorf("unknown mode %q", *mode)
}

// loadModules loads the modules listed in order (dependencies first).
func loadModules(order string) error {
	list, err := os.ReadFile(order)
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(string(list)) {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("loading %s: %w", filepath.Base(p), err)
		}
	}
	return nil
}

// waitFor waits for devtmpfs to show a device the drivers just found.
func waitFor(dev string) error {
	for range 500 {
		if _, err := os.Stat(dev); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s did not appear", dev)
}

// logRun puts dm-log-writes between ext4 and the save disk, makes saves
// saves with a mark after each acknowledgement, and tears it all down so
// the log is complete on the log disk.
func logRun(fsys vfs.FS, seed uint64, entities, saves int) error {
	for _, d := range []string{saveDisk, logDisk} {
		if err := waitFor(d); err != nil {
			return err
		}
	}
	sectors, err := deviceSectors(saveDisk)
	if err != nil {
		return err
	}
	dm, err := openDM()
	if err != nil {
		return err
	}
	defer dm.Close()
	if err := dm.create(lwName, "log-writes", saveDisk+" "+logDisk, sectors); err != nil {
		return err
	}
	// devtmpfs names device-mapper devices dm-N; this is the only one.
	const lwDev = "/dev/dm-0"
	if err := waitFor(lwDev); err != nil {
		return err
	}
	if err := unix.Mount(lwDev, mnt, "ext4", 0, ""); err != nil {
		return fmt.Errorf("mount %s: %w", lwDev, err)
	}
	// A mark is one word: "acked GEN DIGEST" is logged as acked_GEN_DIGEST.
	mark := func(line string) error { return dm.message(lwName, "mark "+strings.ReplaceAll(line, " ", "_")) }
	if err := saveLoop(fsys, seed, entities, saves, mark); err != nil {
		return err
	}
	if err := unix.Unmount(mnt, 0); err != nil {
		return fmt.Errorf("unmount: %w", err)
	}
	if err := dm.remove(lwName); err != nil {
		return err
	}
	f, err := os.OpenFile(logDisk, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("flushing the log disk: %w", err)
	}
	say("done")
	return nil
}

// saveLoop runs the harnesses' saver (crashcheck.SaveLoop) on the store
// in storeDir, n saves or forever if n < 0, its lines on the console;
// after each acknowledgement it calls mark, if set.
func saveLoop(fsys vfs.FS, seed uint64, entities, n int, mark func(string) error) error {
	store, err := savegame.Open[world.World](storeDir, &savegame.Options{FS: fsys})
	if err != nil {
		return err
	}
	saving := func(line string) error {
		say("%s", line)
		// The line must have left the machine before the save starts: a
		// cut may land at any instant, and the host must know what every
		// generation on the disk holds. The console is the serial port;
		// tcdrain waits until its transmitter is empty, that is until
		// qemu has passed every byte on to the host.
		if err := unix.IoctlSetInt(1, unix.TCSBRK, 1); err != nil {
			return fmt.Errorf("draining the console: %w", err)
		}
		return nil
	}
	acked := func(line string) error {
		say("%s", line)
		if mark != nil {
			return mark(line)
		}
		return nil
	}
	if err := crashcheck.SaveLoop(store, storeDir, fsys, slot, seed, entities, n, saving, acked); err != nil {
		return err
	}
	return store.Close(context.Background())
}
