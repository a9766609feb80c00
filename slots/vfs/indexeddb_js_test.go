//go:build js

package vfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall/js"
	"testing"
	"time"
)

// idbOrSkip opens a fresh database for one test, or skips where
// JavaScript has no IndexedDB (Node); CI runs these tests in Chromium.
func idbOrSkip(t *testing.T) *IndexedDB {
	t.Helper()
	if !js.Global().Get("indexedDB").Truthy() {
		t.Skip("no IndexedDB here (Node): run in a browser, as .ci/run does")
	}
	d, err := OpenIndexedDB(fmt.Sprintf("test-%s-%d", t.Name(), time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestIndexedDBConformance(t *testing.T) {
	d := idbOrSkip(t)
	checkFS(t, d, "game/saves")
	checkFS(t, d, "/abs/dir")
}

// What a second program sees (a new tab, the game started again) is what
// was flushed: a file's writes reach the database at Sync or at its last
// Close, never in part.
func TestIndexedDBStoresWhatWasFlushed(t *testing.T) {
	d := idbOrSkip(t)
	name := d.db.Get("name").String()
	other := func() *IndexedDB {
		t.Helper()
		o, err := OpenIndexedDB(name)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	read := func(fsys FS, p string) string { return string(contents(t, fsys, p)) }
	if err := d.MkdirAll("g"); err != nil {
		t.Fatal(err)
	}
	f, err := d.OpenFile("g/f", os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("one"), 0)
	if got := read(other(), "g/f"); got != "" {
		t.Fatalf("unflushed write seen by another program: %q", got)
	}
	if err := f.Datasync(); err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("two!"), 0)
	if got := read(other(), "g/f"); got != "one" {
		t.Fatalf("another program reads %q, want the flushed %q", got, "one")
	}
	if got := read(d, "g/f"); got != "two!" {
		t.Fatalf("this program reads %q, want its own write", got)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got := read(other(), "g/f"); got != "two!" {
		t.Fatalf("after the last Close another program reads %q", got)
	}
	if names, err := other().ReadDir("g"); err != nil || len(names) != 1 || names[0] != "f" {
		t.Fatalf("another program lists %q, %v", names, err)
	}

	// Two files flushed together: another program sees both new contents.
	a, _ := d.OpenFile("g/f", os.O_RDWR)
	b, err := d.OpenFile("g/p", os.O_RDWR|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteAt([]byte("slot"), 0)
	b.WriteAt([]byte("ptr"), 0)
	if err := d.DatasyncAll(a, b); err != nil {
		t.Fatal(err)
	}
	o := other()
	if got, got2 := read(o, "g/f"), read(o, "g/p"); got != "slot" || got2 != "ptr" {
		t.Fatalf("after DatasyncAll another program reads %q and %q", got, got2)
	}
	a.Close()
	b.Close()
	if err := d.DatasyncAll(a); err == nil {
		t.Fatal("DatasyncAll of a closed file succeeded")
	}
}

// The lock keeps out a second holder even through another connection to
// the database, as a second tab would be: the Web Locks API holds it.
func TestIndexedDBLockAcrossConnections(t *testing.T) {
	d := idbOrSkip(t)
	if !js.Global().Get("navigator").Get("locks").Truthy() {
		t.Skip("no Web Locks API here")
	}
	l, err := d.Lock("g/.lock")
	if err != nil {
		t.Fatal(err)
	}
	// Another program would not share idbHeld: ask the browser directly.
	got := make(chan bool, 1)
	cb := js.FuncOf(func(_ js.Value, args []js.Value) any {
		got <- !args[0].IsNull()
		return nil
	})
	defer cb.Release()
	js.Global().Get("navigator").Get("locks").Call("request", "savekit:g/.lock",
		js.ValueOf(map[string]any{"ifAvailable": true}), cb)
	if <-got {
		t.Fatal("the browser granted the held lock to another requester")
	}
	l.Close()
	js.Global().Get("navigator").Get("locks").Call("request", "savekit:g/.lock",
		js.ValueOf(map[string]any{"ifAvailable": true}), cb)
	if !<-got {
		t.Fatal("the lock was not released by Close")
	}
}

func TestIndexedDBQuotaErrorIsENOSPC(t *testing.T) {
	var err error = &fs.PathError{Op: "sync", Path: "x", Err: &QuotaError{Message: "m"}}
	if !errors.Is(err, ENOSPC) {
		t.Fatal("a quota error does not match ENOSPC")
	}
}
