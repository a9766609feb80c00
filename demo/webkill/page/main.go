//go:build js

// Command page is the program the browser kill test runs in Chromium: it
// loads the slot "s" from the browser's store (IndexedDB, savekit's
// default there), checks it, and reports on the console; then, by the
// page's query string, it saves without pause (mode=kill), exhausts the
// storage quota (mode=quota), or stops (mode=check).
//
// Every line it logs starts with "webkill:" and is read by the harness
// (../main.go) over the DevTools protocol: "BEGIN n" before save n, "ACK n
// µs" once save n is durable (µs from Save to durable), "LOADED n gen
// recovered" at start.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"syscall"
	"syscall/js"

	"github.com/savekit/savekit/savegame"
)

// World is the saved value: a counter and a payload whose bytes follow
// from the counter, so a load can tell a whole save from a damaged one.
type World struct {
	Counter int
	Payload []byte
}

func payload(counter, size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + counter)
	}
	return b
}

// sizeOf varies the save's size with the counter: 64 KiB to about 4 MiB.
func sizeOf(counter int) int { return 64<<10 + (counter*2654435761)%(4<<20) }

func (w *World) intact() bool {
	if len(w.Payload) != sizeOf(w.Counter) {
		return false
	}
	want := payload(w.Counter, len(w.Payload))
	for i := range want {
		if want[i] != w.Payload[i] {
			return false
		}
	}
	return true
}

func report(format string, args ...any) {
	js.Global().Get("console").Call("log", "webkill: "+fmt.Sprintf(format, args...))
}

func main() {
	q, _ := url.ParseQuery(js.Global().Get("location").Get("search").String()[1:])
	mode := q.Get("mode")
	ctx := context.Background()
	store, err := savegame.Open[World]("webkill/saves", nil)
	if err != nil {
		report("FAIL open: %v", err)
		return
	}
	counter := 0
	w, info, err := store.Load(ctx, "s")
	switch {
	case errors.Is(err, savegame.ErrNotFound):
		report("LOADED 0 0 false")
	case err != nil:
		report("CORRUPT load: %v", err)
		return
	case !w.intact():
		report("CORRUPT payload of save %d (generation %d) does not match", w.Counter, info.Generation)
		return
	default:
		counter = w.Counter
		report("LOADED %d %d %v", w.Counter, info.Generation, info.Recovered)
	}

	switch mode {
	case "kill":
		for {
			counter++
			w := &World{Counter: counter, Payload: payload(counter, sizeOf(counter))}
			report("BEGIN %d", counter) // between ACK and BEGIN: making the next world
			p := store.Save("s", w, nil)
			if err := p.Wait(ctx); err != nil {
				report("FAIL save %d: %v", counter, err)
				return
			}
			report("ACK %d %d", counter, p.Stats().Total.Microseconds())
		}
	case "quota":
		// Saves that fit, each followed by one far beyond the quota the
		// harness set: the first big one creates the slot's second file
		// (a temporary renamed into place), the second overwrites a file
		// in place. Each must fail as a full disk, with the small save
		// before it loading, not reported as damaged.
		// Random bytes: the browser compresses what it stores, and zeros
		// would fit any quota.
		for _, path := range []string{"new-file", "in-place"} {
			counter++
			if err := store.Save("s", &World{Counter: counter, Payload: payload(counter, sizeOf(counter))}, nil).Wait(ctx); err != nil {
				report("FAIL small save: %v", err)
				return
			}
			report("ACK %d", counter)
			big := &World{Counter: counter + 1, Payload: make([]byte, 32<<20)}
			_, _ = rand.Read(big.Payload)
			err := store.Save("s", big, nil).Wait(ctx)
			report("QUOTA %s %v %v", path, errors.Is(err, syscall.ENOSPC), err)
			w, info, err := store.Load(ctx, "s")
			if err != nil || !w.intact() {
				report("FAIL load after the refused save: %v", err)
				return
			}
			report("AFTER %s %d %v", path, w.Counter, info.Recovered)
		}
		report("QUOTADONE")
	}
	if err := store.Close(ctx); err != nil {
		report("FAIL close: %v", err)
		return
	}
	report("DONE")
}
