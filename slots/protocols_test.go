package slots

import (
	"fmt"
	"time"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/slots/vfs"
)

// enc is the write callback of a commit of body with p.
func enc(p format.Params, body any) WriteFunc { return format.EncodeFunc(p, body, nil) }

// protocol is a commit protocol other than the one the store ships with:
// weakened ones, which the crash explorer must catch (crash_test.go), and
// the textbook alternatives the benchmarks measure against the shipped
// one (docs/durability.md). The zero value is the shipped protocol.
type protocol struct {
	noFileSync    bool // never fdatasync slot or pointer
	noDirSync     bool // never fsync the directory
	activeInPlace bool // write the committed slot instead of the other

	ordered       bool // flush the slot file, then write and flush the pointer
	renameSlot    bool // write every slot file as temp+fdatasync+rename+dir sync
	renamePointer bool // write every pointer as temp+fdatasync+rename+dir sync
}

// apply returns o set to run p. Dropped flushes are dropped by the file
// system, so the shipped code runs with only the flushes missing; the
// other protocols replace the commit's file protocol.
func (p protocol) apply(o Options) Options {
	if p.noFileSync || p.noDirSync {
		if o.FS == nil {
			o.FS = vfs.OS{}
		}
		o.FS = dropSyncFS{FS: o.FS, files: p.noFileSync, dirs: p.noDirSync}
	}
	if p.activeInPlace || p.ordered || p.renameSlot || p.renamePointer {
		o.commitFiles = p.commit
	}
	return o
}

// options is Options set to run p on the real file system.
func (p protocol) options() *Options {
	o := p.apply(Options{})
	return &o
}

// commit is the store's protocol with p's changes. activeInPlace alone
// is the shipped commit writing the committed slot file. Without a rename
// switch and with both files present, it writes the slot file, flushes
// it, then writes and flushes the pointer (the shipped protocol flushes
// both at once); a rename switch writes that file whole to a temporary,
// flushes it, renames it into place and syncs the directory.
func (p protocol) commit(s *Store, name string, st *slotState, gen uint64, write WriteFunc) (stats CommitStats, err error) {
	if p.activeInPlace && !p.ordered && !p.renameSlot && !p.renamePointer && st.current >= 0 {
		// The shipped commit, pointed at the file the pointer names.
		st.current = 1 - st.current
		stats, err = s.commit(name, st, gen, write)
		if err != nil {
			st.current = 1 - st.current
		}
		return stats, err
	}
	target := 0
	if st.current >= 0 {
		target = 1 - st.current
		if p.activeInPlace {
			target = st.current
		}
	}
	stats = CommitStats{Slot: target, Generation: gen}
	file, ptrFile := slotFile(name, target), pointerFile(name)
	t0 := time.Now()
	defer func() { stats.Write = time.Since(t0) - stats.Sync - stats.Encode }()

	if st.exists[target] && !p.renameSlot {
		var slot vfs.File
		if slot, err = s.openRW(&st.files[target], file); err == nil {
			stats.Header, err = s.writeContainer(slot, file, gen, write, &stats)
		}
		if err == nil {
			err = s.datasync(slot, file, &stats)
		}
		if err == nil {
			err = linked(slot, file)
		}
	} else if err = s.writeNew(name, file, func(f vfs.File) (int64, error) {
		h, err := s.encode(f, gen, write, &stats)
		stats.Header = h
		return h.Size(), err
	}, &stats); err == nil {
		st.exists[target] = true
	}
	if err != nil {
		return stats, err
	}
	h := stats.Header
	rec := pointer{Slot: target, Generation: gen, Size: h.Size(), HeaderSum: h.HeaderSum}.marshal()
	if st.exists[2] && !p.renamePointer {
		ptr, err := s.openRW(&st.ptr, ptrFile)
		if err != nil {
			return stats, err
		}
		if _, err := ptr.WriteAt(rec, 0); err != nil {
			return stats, fmt.Errorf("write %s: %w", ptrFile, err)
		}
		stats.Bytes += int64(len(rec))
		if err := s.datasync(ptr, ptrFile, &stats); err != nil {
			return stats, err
		}
		return stats, linked(ptr, ptrFile)
	}
	err = s.writeNew(name, ptrFile, func(f vfs.File) (int64, error) {
		n, err := f.WriteAt(rec, 0)
		return int64(n), err
	}, &stats)
	if err == nil {
		st.exists[2] = true
	}
	return stats, err
}

// dropSyncFS is a file system that does not flush: file flushes, directory
// syncs, or both succeed without doing anything.
type dropSyncFS struct {
	vfs.FS
	files, dirs bool
}

func (d dropSyncFS) SyncDir(dir string) error {
	if d.dirs {
		return nil
	}
	return d.FS.SyncDir(dir)
}

func (d dropSyncFS) OpenFile(name string, flag int) (vfs.File, error) {
	f, err := d.FS.OpenFile(name, flag)
	return d.wrap(f, err)
}

func (d dropSyncFS) CreateTemp(dir, prefix string) (vfs.File, error) {
	f, err := d.FS.CreateTemp(dir, prefix)
	return d.wrap(f, err)
}

func (d dropSyncFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil || !d.files {
		return f, err
	}
	return noSyncFile{f}, nil
}

type noSyncFile struct{ vfs.File }

func (noSyncFile) Sync() error     { return nil }
func (noSyncFile) Datasync() error { return nil }
