package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
	_ "github.com/mattn/go-sqlite3"
	"github.com/natefinch/atomic"
	"github.com/vmihailenco/msgpack/v5"
	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/savekit/savekit/demo/world"
	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/savegame"
)

// peer is one way to save the same world. save returns the time the
// caller (the game thread) was stalled and the time until the save was
// acknowledged as durable (for savekit: the Pending resolving; for the
// others, the call returning).
type peer interface {
	name() string
	crashSafe() bool       // claims a save survives a power cut
	encodesOnCaller() bool // encodes and writes on the caller
	open(dir string) error
	save(w *world.World) (stall, ack time.Duration, err error)
	load() error
	close() error
}

func peers() []peer {
	return []peer{&writeFileJSON{}, &inPlace{}, &renameioPeer{}, &atomicPeer{}, &sqlitePeer{}, &boltPeer{}, &savekitPeer{}}
}

// encode is the body every byte-taking peer writes: the same msgpack savekit
// writes.
func encode(w *world.World) ([]byte, error) {
	return format.MarshalBody(w)
}

// 1. os.WriteFile of JSON: what many games do.
type writeFileJSON struct{ path string }

func (p *writeFileJSON) name() string          { return "os.WriteFile JSON" }
func (p *writeFileJSON) crashSafe() bool       { return false }
func (p *writeFileJSON) encodesOnCaller() bool { return true }
func (p *writeFileJSON) open(dir string) error { p.path = filepath.Join(dir, "save.json"); return nil }
func (p *writeFileJSON) close() error          { return nil }
func (p *writeFileJSON) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	b, err := json.Marshal(w)
	if err == nil {
		err = os.WriteFile(p.path, b, 0o644)
	}
	d := time.Since(t0)
	return d, d, err
}
func (p *writeFileJSON) load() error {
	b, err := os.ReadFile(p.path)
	if err != nil {
		return err
	}
	var w world.World
	return json.Unmarshal(b, &w)
}

// 2. Overwrite the save file in place and fsync it.
type inPlace struct{ path string }

func (p *inPlace) name() string          { return "in-place + fsync" }
func (p *inPlace) crashSafe() bool       { return false }
func (p *inPlace) encodesOnCaller() bool { return true }
func (p *inPlace) open(dir string) error { p.path = filepath.Join(dir, "save.bin"); return nil }
func (p *inPlace) close() error          { return nil }
func (p *inPlace) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	b, err := encode(w)
	if err != nil {
		return 0, 0, err
	}
	f, err := os.OpenFile(p.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return 0, 0, err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	d := time.Since(t0)
	return d, d, err
}
func (p *inPlace) load() error { return loadMsgpackFile(p.path) }

func loadMsgpackFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var w world.World
	return msgpack.Unmarshal(b, &w)
}

// 3. github.com/google/renameio/v2: temp file, fsync, rename.
type renameioPeer struct{ path string }

func (p *renameioPeer) name() string          { return "renameio" }
func (p *renameioPeer) crashSafe() bool       { return true }
func (p *renameioPeer) encodesOnCaller() bool { return true }
func (p *renameioPeer) open(dir string) error { p.path = filepath.Join(dir, "save.bin"); return nil }
func (p *renameioPeer) close() error          { return nil }
func (p *renameioPeer) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	b, err := encode(w)
	if err == nil {
		err = renameio.WriteFile(p.path, b, 0o644)
	}
	d := time.Since(t0)
	return d, d, err
}
func (p *renameioPeer) load() error { return loadMsgpackFile(p.path) }

// 4. github.com/natefinch/atomic: temp file, fsync, rename.
type atomicPeer struct{ path string }

func (p *atomicPeer) name() string          { return "natefinch/atomic" }
func (p *atomicPeer) crashSafe() bool       { return true }
func (p *atomicPeer) encodesOnCaller() bool { return true }
func (p *atomicPeer) open(dir string) error { p.path = filepath.Join(dir, "save.bin"); return nil }
func (p *atomicPeer) close() error          { return nil }
func (p *atomicPeer) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	b, err := encode(w)
	if err == nil {
		err = atomic.WriteFile(p.path, bytesReader(b))
	}
	d := time.Since(t0)
	return d, d, err
}
func (p *atomicPeer) load() error { return loadMsgpackFile(p.path) }

// 5. SQLite (mattn/go-sqlite3), WAL, synchronous=FULL, one row per slot.
type sqlitePeer struct{ db *sql.DB }

func (p *sqlitePeer) name() string          { return "SQLite WAL FULL" }
func (p *sqlitePeer) crashSafe() bool       { return true }
func (p *sqlitePeer) encodesOnCaller() bool { return true }
func (p *sqlitePeer) open(dir string) error {
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "saves.db")+"?_journal_mode=WAL&_synchronous=FULL")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("CREATE TABLE IF NOT EXISTS saves (slot TEXT PRIMARY KEY, body BLOB)"); err != nil {
		return err
	}
	p.db = db
	return nil
}
func (p *sqlitePeer) close() error { return p.db.Close() }
func (p *sqlitePeer) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	b, err := encode(w)
	if err == nil {
		_, err = p.db.Exec("INSERT INTO saves (slot, body) VALUES ('quick', ?) ON CONFLICT(slot) DO UPDATE SET body = excluded.body", b)
	}
	d := time.Since(t0)
	return d, d, err
}
func (p *sqlitePeer) load() error {
	var b []byte
	if err := p.db.QueryRow("SELECT body FROM saves WHERE slot = 'quick'").Scan(&b); err != nil {
		return err
	}
	var w world.World
	return msgpack.Unmarshal(b, &w)
}

// 6. go.etcd.io/bbolt: one bucket, one key per slot.
type boltPeer struct{ db *bolt.DB }

func (p *boltPeer) name() string          { return "bbolt" }
func (p *boltPeer) crashSafe() bool       { return true }
func (p *boltPeer) encodesOnCaller() bool { return true }
func (p *boltPeer) open(dir string) error {
	db, err := bolt.Open(filepath.Join(dir, "saves.bolt"), 0o600, nil)
	p.db = db
	return err
}
func (p *boltPeer) close() error { return p.db.Close() }
func (p *boltPeer) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	b, err := encode(w)
	if err == nil {
		err = p.db.Update(func(tx *bolt.Tx) error {
			bk, err := tx.CreateBucketIfNotExists([]byte("saves"))
			if err != nil {
				return err
			}
			return bk.Put([]byte("quick"), b)
		})
	}
	d := time.Since(t0)
	return d, d, err
}
func (p *boltPeer) load() error {
	return p.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte("saves"))
		if bk == nil {
			return errors.New("no bucket")
		}
		var w world.World
		return msgpack.Unmarshal(bk.Get([]byte("quick")), &w)
	})
}

// 7. savekit: snapshot on the caller, the rest on its writer goroutine.
type savekitPeer struct{ s *savegame.Store[world.World] }

func (p *savekitPeer) name() string          { return "savekit" }
func (p *savekitPeer) crashSafe() bool       { return true }
func (p *savekitPeer) encodesOnCaller() bool { return false }
func (p *savekitPeer) open(dir string) error {
	s, err := savegame.Open[world.World](filepath.Join(dir, "savekit"), &savegame.Options{Limits: nil})
	p.s = s
	return err
}
func (p *savekitPeer) close() error { return p.s.Close(context.Background()) }
func (p *savekitPeer) save(w *world.World) (time.Duration, time.Duration, error) {
	t0 := time.Now()
	pd := p.s.Save("quick", w, nil)
	stall := time.Since(t0)
	err := pd.Wait(context.Background())
	return stall, time.Since(t0), err
}
func (p *savekitPeer) load() error {
	_, _, err := p.s.Load(context.Background(), "quick")
	return err
}

// floor writes the given bytes over an existing file of the same size and
// fdatasyncs it: the least any durable save of those bytes can cost.
type floor struct{ f *os.File }

func openFloor(dir string, size int) (*floor, error) {
	f, err := os.OpenFile(filepath.Join(dir, "floor"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.WriteAt(make([]byte, size), 0); err != nil {
		return nil, err
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return nil, err
	}
	return &floor{f}, nil
}

func (fl *floor) write(b []byte) (time.Duration, error) {
	t0 := time.Now()
	if _, err := fl.f.WriteAt(b, 0); err != nil {
		return 0, err
	}
	if err := unix.Fdatasync(int(fl.f.Fd())); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}
