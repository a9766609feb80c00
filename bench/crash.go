package main

import (
	"bytes"
	"os"
	"path/filepath"

	"github.com/savekit/savekit/format"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/savekit/savekit/slots"
	"github.com/savekit/savekit/slots/vfs"
)

// crashRow is one peer's line in the crash table.
type crashRow struct {
	peer              string
	states, lost, bad int
	note              string
}

// A model of a peer's write sequence on a vfs.FS: what the library's
// system calls amount to, made through the crash-simulating file system.
type model struct {
	name string
	save func(fsys vfs.FS, dir string, data []byte) error
	load func(fsys vfs.FS, dir string) ([]byte, error)
	note string
}

func readWhole(fsys vfs.FS, path string) ([]byte, error) {
	f, err := fsys.OpenFile(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return nil, err
	}
	b := make([]byte, n)
	_, err = f.ReadAt(b, 0)
	return b, err
}

func truncateWrite(fsys vfs.FS, path string, data []byte, sync bool) error {
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	if sync {
		return f.Sync()
	}
	return nil
}

// tempRename is renameio's and natefinch/atomic's sequence: a temporary
// in the same directory, written, fsynced, renamed over the file. Neither
// syncs the directory.
func tempRename(fsys vfs.FS, dir string, data []byte) error {
	f, err := fsys.CreateTemp(dir, ".save.")
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	f.Close()
	return fsys.Rename(f.Name(), filepath.Join(dir, "save.bin"))
}

func models() []model {
	file := func(fsys vfs.FS, dir string) ([]byte, error) { return readWhole(fsys, filepath.Join(dir, "save.bin")) }
	return []model{
		{name: "os.WriteFile JSON", save: func(f vfs.FS, d string, b []byte) error {
			return truncateWrite(f, filepath.Join(d, "save.bin"), b, false)
		}, load: file, note: "truncate, write; no flush"},
		{name: "in-place + fsync", save: func(f vfs.FS, d string, b []byte) error {
			return truncateWrite(f, filepath.Join(d, "save.bin"), b, true)
		}, load: file, note: "truncate, write, fsync"},
		{name: "renameio", save: tempRename, load: file, note: "temporary, fsync, rename; no directory sync"},
		{name: "natefinch/atomic", save: tempRename, load: file, note: "temporary, fsync, rename; no directory sync"},
		{name: "savekit", save: func(fsys vfs.FS, d string, b []byte) error {
			s, err := slots.Open(d, &slots.Options{FS: fsys})
			if err != nil {
				return err
			}
			defer s.Close()
			_, err = s.Commit("quick", format.EncodeFunc(format.Params{}, msgpack.RawMessage(b), nil))
			return err
		}, load: func(fsys vfs.FS, d string) ([]byte, error) {
			s, err := slots.Open(d, &slots.Options{FS: fsys})
			if err != nil {
				return nil, err
			}
			defer s.Close()
			f, _, err := s.Load("quick")
			if err != nil {
				return nil, err
			}
			return f.Body, nil
		}, note: "slots protocol"},
	}
}

// crashTable saves A (acknowledged), then B, through each model on a
// CrashFS, and checks every crash state at every operation boundary of
// the second save: a state is lost when nothing valid loads or, once B was
// acknowledged, A does; bad when what loads is neither A nor B.
func crashTable() []crashRow {
	a := bytes.Repeat([]byte{0x91, 0xa1, 'a'}, 500)[:1400]
	b := bytes.Repeat([]byte{0x91, 0xa1, 'b'}, 600)[:1700]
	a = append([]byte{0xc5, byte(len(a) >> 8), byte(len(a))}, a...) // bin16: valid msgpack for savekit's validator
	b = append([]byte{0xc5, byte(len(b) >> 8), byte(len(b))}, b...)
	var rows []crashRow
	for _, m := range models() {
		row := crashRow{peer: m.name, note: m.note}
		fsys := vfs.NewCrashFS()
		const dir = "/saves"
		fsys.MkdirAll(dir)
		fsys.SyncDir("/")
		fsys.SyncDir(dir)
		// A saved three times: every file a peer keeps exists (savekit's
		// two slot files and pointer), so B is a steady-state save.
		var err error
		for range 3 {
			if err = m.save(fsys, dir, a); err != nil {
				break
			}
		}
		if err != nil {
			row.note = "setup failed: " + err.Error()
			rows = append(rows, row)
			continue
		}
		// Make A durable whatever the peer does, so only B's save is judged.
		fsys.SyncDir(dir)
		if f, err := fsys.OpenFile(filepath.Join(dir, "save.bin"), os.O_RDWR); err == nil {
			f.Sync()
			f.Close()
		}
		fsys = fsys.Crash(0)
		start := fsys.Ops()
		if err := m.save(fsys, dir, b); err != nil {
			row.note = "save failed: " + err.Error()
			rows = append(rows, row)
			continue
		}
		end := fsys.Ops()
		for i := start; i <= end; i++ {
			for st := range fsys.CrashStates(i, vfs.CrashOptions{Limit: 1024, Seed: uint64(i)}) {
				row.states++
				got, err := m.load(st, dir)
				switch {
				case err != nil:
					row.lost++
				case bytes.Equal(got, b):
				case bytes.Equal(got, a) && i < end:
				case bytes.Equal(got, a):
					row.lost++
				default:
					row.bad++
				}
			}
		}
		rows = append(rows, row)
	}
	rows = append(rows,
		crashRow{peer: "SQLite WAL FULL", states: -1, note: "not replayed: its I/O is inside the library; SQLite documents WAL with synchronous=FULL as durable"},
		crashRow{peer: "bbolt", states: -1, note: "not replayed: its I/O is inside the library; bbolt keeps two checksummed meta pages and fdatasyncs"},
	)
	return rows
}
