package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Op names an operation kind for FaultFS rules.
type Op string

// The operations FaultFS counts and can fail.
const (
	OpOpen       Op = "open"
	OpCreateTemp Op = "createtemp"
	OpRename     Op = "rename"
	OpRemove     Op = "remove"
	OpMkdir      Op = "mkdir"
	OpReadDir    Op = "readdir"
	OpLstat      Op = "lstat"
	OpSyncDir    Op = "syncdir"
	OpLock       Op = "lock"
	OpRead       Op = "read"
	OpWrite      Op = "write"
	OpTruncate   Op = "truncate"
	OpSize       Op = "size"
	OpLinked     Op = "linked"
	OpSync       Op = "sync"
	OpDatasync   Op = "datasync"
	OpClose      Op = "close"
)

// ErrShortWrite, as a Rule's Err, makes a write store only the first half
// of its bytes and return io.ErrShortWrite: what a full disk does to a
// write already under way.
var ErrShortWrite = errors.New("vfs: short write")

// Rule selects operations for FaultFS to fail. A zero field matches
// anything: Nth counts matching operations from 1 (0: every match), Kind
// names the operation, Name is a substring of the path.
type Rule struct {
	Nth  int
	Kind Op
	Name string
	// Err is returned wrapped in a *fs.PathError, so errors.Is works with
	// syscall.ENOSPC, syscall.EIO, syscall.EACCES, syscall.EROFS; or
	// ErrShortWrite.
	Err error
	// Times is how many operations the rule fails once it starts; 0 means
	// one, -1 means every one after.
	Times int
	// Delay makes each selected operation wait this long first. With a nil
	// Err the operation then proceeds: a slow disk rather than a failing
	// one.
	Delay time.Duration

	seen, failed int
}

// Common errors for rules.
var (
	ENOSPC = syscall.ENOSPC
	EIO    = syscall.EIO
	EACCES = syscall.EACCES
	EROFS  = syscall.EROFS
)

// FaultFS wraps an FS and fails the operations its rules select, passing
// the others through. Every operation, of the FS and of its Files, is
// counted and logged, so a test can first run a flow to count its
// operations and then fail each in turn.
type FaultFS struct {
	inner FS
	mu    sync.Mutex
	rules []*Rule
	log   []string
}

// NewFaultFS wraps inner with rules.
func NewFaultFS(inner FS, rules ...Rule) *FaultFS {
	f := &FaultFS{inner: inner}
	for _, r := range rules {
		f.AddRule(r)
	}
	return f
}

// AddRule adds a rule; operations already made do not count towards Nth.
func (f *FaultFS) AddRule(r Rule) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = append(f.rules, &r)
}

// ClearRules removes every rule.
func (f *FaultFS) ClearRules() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

// Count returns how many operations have been made.
func (f *FaultFS) Count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.log)
}

// Log returns "kind path" for every operation made, in order; failed ones
// end in " FAILED".
func (f *FaultFS) Log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

// check counts an operation, waits for any Delay a rule assigns it, and
// returns the error the rule assigns it.
func (f *FaultFS) check(kind Op, name string) error {
	f.mu.Lock()
	entry := fmt.Sprintf("%s %s", kind, name)
	var delay time.Duration
	var err error
	for _, r := range f.rules {
		if r.Kind != "" && r.Kind != kind || r.Name != "" && !strings.Contains(name, r.Name) {
			continue
		}
		r.seen++
		if r.seen < r.Nth {
			continue
		}
		limit := r.Times
		if limit == 0 {
			limit = 1
		}
		if limit > 0 && r.failed >= limit {
			continue
		}
		r.failed++
		delay = max(delay, r.Delay)
		if r.Err != nil {
			err = r.Err
			break
		}
	}
	if err != nil {
		entry += " FAILED"
	}
	f.log = append(f.log, entry)
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	return err
}

func injected(kind Op, name string, err error) error {
	return &fs.PathError{Op: string(kind) + " (injected)", Path: name, Err: err}
}

// OpenFile implements FS.
func (f *FaultFS) OpenFile(name string, flag int) (File, error) {
	if err := f.check(OpOpen, name); err != nil {
		return nil, injected(OpOpen, name, err)
	}
	file, err := f.inner.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return &faultFile{fs: f, f: file}, nil
}

// CreateTemp implements FS.
func (f *FaultFS) CreateTemp(dir, prefix string) (File, error) {
	if err := f.check(OpCreateTemp, dir); err != nil {
		return nil, injected(OpCreateTemp, dir, err)
	}
	file, err := f.inner.CreateTemp(dir, prefix)
	if err != nil {
		return nil, err
	}
	return &faultFile{fs: f, f: file}, nil
}

// Rename implements FS.
func (f *FaultFS) Rename(oldpath, newpath string) error {
	if err := f.check(OpRename, newpath); err != nil {
		return injected(OpRename, newpath, err)
	}
	return f.inner.Rename(oldpath, newpath)
}

// Remove implements FS.
func (f *FaultFS) Remove(name string) error {
	if err := f.check(OpRemove, name); err != nil {
		return injected(OpRemove, name, err)
	}
	return f.inner.Remove(name)
}

// MkdirAll implements FS.
func (f *FaultFS) MkdirAll(dir string) error {
	if err := f.check(OpMkdir, dir); err != nil {
		return injected(OpMkdir, dir, err)
	}
	return f.inner.MkdirAll(dir)
}

// ReadDir implements FS.
func (f *FaultFS) ReadDir(dir string) ([]string, error) {
	if err := f.check(OpReadDir, dir); err != nil {
		return nil, injected(OpReadDir, dir, err)
	}
	return f.inner.ReadDir(dir)
}

// Lstat implements FS.
func (f *FaultFS) Lstat(name string) (fs.FileInfo, error) {
	if err := f.check(OpLstat, name); err != nil {
		return nil, injected(OpLstat, name, err)
	}
	return f.inner.Lstat(name)
}

// SyncDir implements FS.
func (f *FaultFS) SyncDir(dir string) error {
	if err := f.check(OpSyncDir, dir); err != nil {
		return injected(OpSyncDir, dir, err)
	}
	return f.inner.SyncDir(dir)
}

// Lock implements FS.
func (f *FaultFS) Lock(name string) (io.Closer, error) {
	if err := f.check(OpLock, name); err != nil {
		return nil, injected(OpLock, name, err)
	}
	return f.inner.Lock(name)
}

type faultFile struct {
	fs *FaultFS
	f  File
}

func (w *faultFile) Name() string { return w.f.Name() }

func (w *faultFile) ReadAt(p []byte, off int64) (int, error) {
	if err := w.fs.check(OpRead, w.f.Name()); err != nil {
		return 0, injected(OpRead, w.f.Name(), err)
	}
	return w.f.ReadAt(p, off)
}

func (w *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := w.fs.check(OpWrite, w.f.Name()); err != nil {
		if err == ErrShortWrite {
			n, werr := w.f.WriteAt(p[:len(p)/2], off)
			if werr != nil {
				return n, werr
			}
			return n, injected(OpWrite, w.f.Name(), io.ErrShortWrite)
		}
		return 0, injected(OpWrite, w.f.Name(), err)
	}
	return w.f.WriteAt(p, off)
}

func (w *faultFile) Truncate(size int64) error {
	if err := w.fs.check(OpTruncate, w.f.Name()); err != nil {
		return injected(OpTruncate, w.f.Name(), err)
	}
	return w.f.Truncate(size)
}

func (w *faultFile) Size() (int64, error) {
	if err := w.fs.check(OpSize, w.f.Name()); err != nil {
		return 0, injected(OpSize, w.f.Name(), err)
	}
	return w.f.Size()
}

func (w *faultFile) Linked() (bool, error) {
	if err := w.fs.check(OpLinked, w.f.Name()); err != nil {
		return false, injected(OpLinked, w.f.Name(), err)
	}
	return w.f.Linked()
}

func (w *faultFile) Sync() error {
	if err := w.fs.check(OpSync, w.f.Name()); err != nil {
		return injected(OpSync, w.f.Name(), err)
	}
	return w.f.Sync()
}

func (w *faultFile) Datasync() error {
	if err := w.fs.check(OpDatasync, w.f.Name()); err != nil {
		return injected(OpDatasync, w.f.Name(), err)
	}
	return w.f.Datasync()
}

// Close always closes the inner file, even when it reports an injected
// error, as a real close does.
func (w *faultFile) Close() error {
	err := w.fs.check(OpClose, w.f.Name())
	cerr := w.f.Close()
	if err != nil {
		return injected(OpClose, w.f.Name(), err)
	}
	return cerr
}
