package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/savekit/savekit/demo/internal/crashcheck"
)

// replay boots the guest once in log mode: dm-log-writes records every
// write and flush that reaches the save disk, onto a second disk, while
// the saver makes cfg.Saves saves and marks the log after each
// acknowledgement. It then rebuilds the save disk from its initial image
// entry by entry, and at every flush, FUA write and mark checks the disk
// as a power cut at that instant would have left it. At a mark, every
// save acknowledged so far must load. With cfg.EveryWrite it also checks
// after every write between them: a drive that was writing its cache back
// in order when the power went.
func (l *lab) replay(res *result) error {
	if l.cfg.Saves == 0 {
		return nil
	}
	base := filepath.Join(l.cfg.Work, "base.img")
	disk := filepath.Join(l.cfg.Work, "logged.img")
	logImg := filepath.Join(l.cfg.Work, "log.img")
	if err := mkfs(base); err != nil {
		return err
	}
	if err := copyFile(base, disk); err != nil {
		return err
	}
	if err := os.WriteFile(logImg, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(logImg, logSize); err != nil {
		return err
	}
	c := res.Replay
	t0 := time.Now()
	v, err := l.boot(l.guestArgs("log"), disk, logImg)
	if err != nil {
		return err
	}
	// The console's "saving" lines tell the checker what each generation
	// held; acknowledgements come from the marks in the log, in their
	// place among the writes.
	var guestErr error
	done, consoleAcks := false, 0
	timeout := time.AfterFunc(bootTimeout+time.Duration(l.cfg.Saves)*2*time.Second, func() { v.cmd.Process.Kill() })
	for line := range v.lines {
		switch {
		case line == "done":
			done = true
		case strings.HasPrefix(line, "error "):
			if guestErr == nil {
				guestErr = fmt.Errorf("guest: %s", line)
			}
		case strings.HasPrefix(line, "acked "):
			consoleAcks++
		default:
			if err := c.Line(line); err != nil && guestErr == nil {
				guestErr = err
			}
		}
	}
	timeout.Stop()
	v.cmd.Wait()
	if guestErr == nil && !done {
		guestErr = fmt.Errorf("the guest did not finish its saves")
	}
	if guestErr != nil {
		return fmt.Errorf("log run: %v; console:\n%s", guestErr, v.console())
	}
	l.cfg.Logf("log run: %d saves acknowledged in %s", consoleAcks, time.Since(t0).Round(time.Second))

	lf, err := os.Open(logImg)
	if err != nil {
		return err
	}
	defer lf.Close()
	log, err := openLog(lf, logSize)
	if err != nil {
		return err
	}
	work := filepath.Join(l.cfg.Work, "replay.img")
	if err := copyFile(base, work); err != nil {
		return err
	}
	img, err := os.OpenFile(work, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer img.Close()
	dirty := true // the image differs from the last one checked
	var last crashcheck.Outcome
	t1 := time.Now()
	err = log.each(func(e *lwEntry, data []byte) error {
		res.Entries++
		if e.Flags&(lwFlush|lwFUA) != 0 {
			res.Flushes++
		}
		if err := log.apply(img, diskSize, e, data); err != nil {
			return err
		}
		if data != nil || e.Flags&lwDiscard != 0 {
			dirty = true
		}
		if e.isMark() {
			res.Marks++
			if strings.HasPrefix(e.Mark, "acked_") {
				if err := c.Line(strings.ReplaceAll(e.Mark, "_", " ")); err != nil {
					return fmt.Errorf("log entry %d: %v", e.Index, err)
				}
				res.AckedReplayed++
			}
		}
		if !e.checkpoint() && !(l.cfg.EveryWrite && data != nil) {
			return nil
		}
		if dirty {
			o, err := l.check(work)
			if err != nil {
				return fmt.Errorf("state at log entry %d: %v", e.Index, err)
			}
			last, dirty = o, false
			res.DistinctStates++
			if o.Err == nil {
				res.SaveBytes = o.Size
			}
		}
		// The same disk is judged again when the acknowledgements moved:
		// a mark right after a flush is the check that matters most.
		c.JudgeOutcome(last)
		if res.Replay.Cuts%50 == 0 {
			l.cfg.Logf("replay: %d states (%d distinct) up to log entry %d, %s",
				c.Cuts, res.DistinctStates, e.Index, time.Since(t1).Round(time.Second))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if res.AckedReplayed != consoleAcks {
		return fmt.Errorf("the log has %d acknowledgement marks, the console %d acknowledgements", res.AckedReplayed, consoleAcks)
	}
	return nil
}
