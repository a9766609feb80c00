//go:build js

package vfs

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"syscall/js"
	"time"
)

// IndexedDB is a file system kept in the browser's IndexedDB, for games
// built with GOOS=js: the same slots, pointer and commit protocol as on a
// disk, with each file a record. docs/web.md explains the choice.
//
// The database has three object stores: names maps a cleaned path to a
// file's id (0 for a directory), inodes maps an id to the file's size, and
// data maps an id to its bytes. Every change is one readwrite transaction
// with strict durability, and returns once the transaction completes:
// creations, renames and removals are durable when they return, so
// SyncDir has nothing left to do. A file's writes stay in this process's
// memory until Sync, Datasync or its last Close, which put its bytes in one
// transaction: the stored file is always one that a flush wrote, whole.
// Handles on one file in one process share its bytes, as a page cache does.
//
// The lock is the Web Locks API's, held until Close or until the tab that
// took it goes: a second tab of the same game is refused with ErrLocked.
// Browsers offer Web Locks only to secure contexts (https, localhost); a
// page served over plain http gets a lock within the program only, and a
// second tab is not kept out.
//
// A commit's two flushes are one transaction (DatasyncAll): a crash, a
// closed tab or a full quota keeps both files' new bytes or neither.
//
// Every call waits for the browser, so it must not run inside a JavaScript
// callback (see syscall/js.FuncOf); Ebitengine runs a game's Update and
// Draw on a goroutine of their own, where waiting is allowed.
type IndexedDB struct {
	db js.Value

	mu        sync.Mutex
	open      map[float64]*inode // files with an open handle, by id
	flushes   uint64             // flush transactions completed
	lastFlush map[float64]uint64 // the value of flushes after each file's last one
}

const (
	storeNames  = "names"
	storeInodes = "inodes"
	storeData   = "data"
)

// OpenIndexedDB opens (creating it if needed) the database called name in
// the page's origin.
func OpenIndexedDB(name string) (*IndexedDB, error) {
	idb := js.Global().Get("indexedDB")
	if !idb.Truthy() {
		return nil, errors.New("vfs: this JavaScript environment has no IndexedDB")
	}
	var req js.Value
	if err := catch(func() { req = idb.Call("open", name, 1) }); err != nil {
		return nil, fmt.Errorf("vfs: open IndexedDB %q: %w", name, err)
	}
	done := make(chan error, 1)
	var funcs []js.Func
	on := func(ev string, fn func()) {
		f := js.FuncOf(func(js.Value, []js.Value) any { fn(); return nil })
		funcs = append(funcs, f)
		req.Set("on"+ev, f)
	}
	on("upgradeneeded", func() {
		db := req.Get("result")
		for _, s := range []string{storeNames, storeInodes, storeData} {
			if !db.Get("objectStoreNames").Call("contains", s).Bool() {
				db.Call("createObjectStore", s)
			}
		}
	})
	on("success", func() { done <- nil })
	on("error", func() { done <- domError(req.Get("error")) })
	// Another tab holds the database at an older version: wait for it.
	on("blocked", func() {})
	err := <-done
	for _, f := range funcs {
		f.Release()
	}
	if err != nil {
		return nil, fmt.Errorf("vfs: open IndexedDB %q: %w", name, err)
	}
	d := &IndexedDB{db: req.Get("result"), open: map[float64]*inode{}, lastFlush: map[float64]uint64{}}
	// A newer version of the game upgrading the database: let it.
	closeFn := js.FuncOf(func(js.Value, []js.Value) any { d.db.Call("close"); return nil })
	d.db.Set("onversionchange", closeFn)
	return d, nil
}

// catch runs fn, turning a JavaScript exception into an error.
func catch(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if je, ok := r.(js.Error); ok {
				err = domError(je.Value)
				return
			}
			panic(r)
		}
	}()
	fn()
	return nil
}

// QuotaError is the browser refusing to store more for the page's origin:
// the web's full disk. It matches syscall.ENOSPC with errors.Is.
type QuotaError struct{ Message string }

func (e *QuotaError) Error() string {
	msg := "the browser's storage quota is exhausted (QuotaExceededError)"
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is makes errors.Is(err, syscall.ENOSPC) hold, so that a full quota is
// treated as a full disk.
func (e *QuotaError) Is(target error) bool { return target == syscall.ENOSPC }

// domError turns a DOMException (or any thrown value) into an error.
func domError(v js.Value) error {
	if !v.Truthy() {
		return errors.New("IndexedDB: unknown error")
	}
	name, msg := "", v.Call("toString").String()
	if n := v.Get("name"); n.Type() == js.TypeString {
		name = n.String()
	}
	if m := v.Get("message"); m.Type() == js.TypeString {
		msg = m.String()
	}
	if name == "QuotaExceededError" {
		return &QuotaError{Message: msg}
	}
	return fmt.Errorf("IndexedDB %s: %s", name, msg)
}

// txn is one IndexedDB transaction driven from Go. Its callbacks run inside
// the browser's success events, while the transaction is active, and must
// not block.
type txn struct {
	tx    js.Value
	funcs []js.Func
	err   error // a Go-level failure that aborted the transaction
}

var strict = js.ValueOf(map[string]any{"durability": "strict"})

// run performs body in one transaction over every store and waits for it
// to complete. A request that fails aborts the transaction; body's
// callbacks abort it with t.fail.
func (d *IndexedDB) run(write bool, body func(t *txn)) error {
	t := &txn{}
	defer func() {
		for _, f := range t.funcs {
			f.Release()
		}
	}()
	stores := js.ValueOf([]any{storeNames, storeInodes, storeData})
	err := catch(func() {
		if write {
			t.tx = d.db.Call("transaction", stores, "readwrite", strict)
		} else {
			t.tx = d.db.Call("transaction", stores, "readonly")
		}
	})
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	t.on(t.tx, "complete", func(js.Value) { done <- t.err })
	t.on(t.tx, "abort", func(js.Value) {
		if t.err != nil {
			done <- t.err
			return
		}
		done <- domError(t.tx.Get("error"))
	})
	if err := catch(func() { body(t) }); err != nil && t.err == nil {
		t.fail(err)
	}
	return <-done
}

func (t *txn) on(target js.Value, ev string, fn func(js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		var arg js.Value
		if len(args) > 0 {
			arg = args[0]
		}
		if err := catch(func() { fn(arg) }); err != nil && t.err == nil {
			t.fail(err)
		}
		return nil
	})
	t.funcs = append(t.funcs, f)
	target.Set("on"+ev, f)
}

// fail aborts the transaction with err.
func (t *txn) fail(err error) {
	if t.err != nil {
		return
	}
	t.err = err
	_ = catch(func() { t.tx.Call("abort") })
}

func (t *txn) store(name string) js.Value { return t.tx.Call("objectStore", name) }

// get reads key from store and passes then the result (undefined if none).
func (t *txn) get(store string, key any, then func(js.Value)) {
	req := t.store(store).Call("get", key)
	t.on(req, "success", func(js.Value) { then(req.Get("result")) })
}

func (t *txn) put(store string, key, value any) { t.store(store).Call("put", value, key) }
func (t *txn) del(store string, key any)        { t.store(store).Call("delete", key) }

// clean is the key of a path.
func clean(name string) string { return path.Clean(name) }

// newID returns a random id for a new file: unique across tabs and runs
// without a shared counter, and exact as a JavaScript number.
func newID() float64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return float64(binary.LittleEndian.Uint64(b[:])>>11 | 1)
}

// inDir runs then if dir is a directory (the root always is), and fails
// the transaction with ENOENT or ENOTDIR if it is not.
func (t *txn) inDir(dir string, then func()) {
	if isRoot(dir) {
		then()
		return
	}
	t.get(storeNames, dir, func(v js.Value) {
		switch {
		case v.IsUndefined():
			t.fail(syscall.ENOENT)
		case v.Float() != 0:
			t.fail(syscall.ENOTDIR)
		default:
			then()
		}
	})
}

// isRoot reports whether dir always exists: the current and root
// directories.
func isRoot(dir string) bool { return dir == "." || dir == "/" }

// OpenFile opens name with os.O_RDONLY or os.O_RDWR, optionally os.O_CREATE
// and os.O_EXCL.
func (d *IndexedDB) OpenFile(name string, flag int) (File, error) {
	if flag&^(os.O_RDWR|os.O_CREATE|os.O_EXCL) != 0 || flag&os.O_WRONLY != 0 {
		return nil, pathErr("open", name, fmt.Errorf("unsupported flags %#x", flag))
	}
	for {
		d.mu.Lock()
		seq := d.flushes
		d.mu.Unlock()
		f, err := d.openFile(name, flag, seq)
		if f != nil || err != nil {
			return f, err
		}
		// A flush of the file completed while its bytes were read: read
		// them again.
	}
}

// openFile opens name, returning nil and no error when a flush of the file
// that completed since seq may have made the bytes it read stale.
func (d *IndexedDB) openFile(name string, flag int, seq uint64) (File, error) {
	key := clean(name)
	create := flag&os.O_CREATE != 0
	var id float64
	var data js.Value
	created := false
	err := d.run(create, func(t *txn) {
		t.get(storeNames, key, func(v js.Value) {
			switch {
			case v.IsUndefined() && !create:
				t.fail(syscall.ENOENT)
			case v.IsUndefined():
				parent := path.Dir(key)
				withParent := func() {
					id, created = newID(), true
					t.put(storeNames, key, id)
					t.put(storeInodes, id, 0)
				}
				t.inDir(parent, withParent)
			case v.Float() == 0:
				t.fail(fmt.Errorf("%w (a directory)", ErrNotRegular))
			case flag&os.O_EXCL != 0:
				t.fail(syscall.EEXIST)
			default:
				id = v.Float()
				t.get(storeData, id, func(b js.Value) { data = b })
			}
		})
	})
	if err != nil {
		return nil, pathErr("open", name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	ino := d.open[id]
	if ino == nil && d.lastFlush[id] > seq && !created {
		return nil, nil
	}
	if ino == nil {
		ino = &inode{id: id}
		if data.Truthy() {
			ino.data = make([]byte, data.Get("byteLength").Int())
			js.CopyBytesToGo(ino.data, data)
		}
		d.open[id] = ino
	}
	ino.refs++
	return &idbFile{fsys: d, ino: ino, name: name, key: key, writable: flag&os.O_RDWR != 0}, nil
}

// CreateTemp creates dir/prefix<random>.tmp exclusively.
func (d *IndexedDB) CreateTemp(dir, prefix string) (File, error) {
	for range 10 {
		var r [8]byte
		_, _ = rand.Read(r[:])
		name := path.Join(dir, fmt.Sprintf("%s%x.tmp", prefix, r))
		f, err := d.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, pathErr("createtemp", path.Join(dir, prefix+"*.tmp"), fs.ErrExist)
}

// unlink drops the file id from the database (its name is the caller's).
func unlink(t *txn, id float64) {
	t.del(storeInodes, id)
	t.del(storeData, id)
}

// Rename atomically replaces newpath with oldpath, in one transaction.
func (d *IndexedDB) Rename(oldpath, newpath string) error {
	oldKey, newKey := clean(oldpath), clean(newpath)
	err := d.run(true, func(t *txn) {
		t.get(storeNames, oldKey, func(v js.Value) {
			switch {
			case v.IsUndefined():
				t.fail(syscall.ENOENT)
				return
			case v.Float() == 0:
				t.fail(fmt.Errorf("renaming a directory: %w", syscall.EISDIR))
				return
			}
			id := v.Float()
			if oldKey == newKey {
				return
			}
			t.get(storeNames, newKey, func(w js.Value) {
				switch {
				case w.IsUndefined():
				case w.Float() == 0:
					t.fail(syscall.EISDIR)
					return
				case w.Float() != id:
					unlink(t, w.Float())
				}
				t.put(storeNames, newKey, id)
				t.del(storeNames, oldKey)
			})
		})
	})
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
	}
	return nil
}

// Remove removes a file or an empty directory.
func (d *IndexedDB) Remove(name string) error {
	key := clean(name)
	err := d.run(true, func(t *txn) {
		t.get(storeNames, key, func(v js.Value) {
			switch {
			case v.IsUndefined():
				t.fail(syscall.ENOENT)
			case v.Float() == 0:
				req := t.store(storeNames).Call("count", childRange(key))
				t.on(req, "success", func(js.Value) {
					if req.Get("result").Int() > 0 {
						t.fail(syscall.ENOTEMPTY)
						return
					}
					t.del(storeNames, key)
				})
			default:
				t.del(storeNames, key)
				unlink(t, v.Float())
			}
		})
	})
	if err != nil {
		return pathErr("remove", name, err)
	}
	return nil
}

// childPrefix is the key prefix of dir's entries.
func childPrefix(dir string) string {
	switch dir {
	case ".":
		return ""
	case "/":
		return "/"
	}
	return dir + "/"
}

// childRange is the key range of everything under dir.
func childRange(dir string) js.Value {
	p := childPrefix(dir)
	kr := js.Global().Get("IDBKeyRange")
	if p == "" {
		return kr.Call("lowerBound", "")
	}
	return kr.Call("bound", p, p+"\uffff", false, false)
}

// MkdirAll creates dir and its missing parents.
func (d *IndexedDB) MkdirAll(dir string) error {
	key := clean(dir)
	var chain []string
	for p := key; !isRoot(p); p = path.Dir(p) {
		chain = append(chain, p)
	}
	if len(chain) == 0 {
		return nil
	}
	err := d.run(true, func(t *txn) {
		var step func(i int)
		step = func(i int) {
			if i < 0 {
				return
			}
			t.get(storeNames, chain[i], func(v js.Value) {
				switch {
				case v.IsUndefined():
					t.put(storeNames, chain[i], 0)
				case v.Float() != 0:
					t.fail(pathErr("mkdir", chain[i], syscall.ENOTDIR))
					return
				}
				step(i - 1)
			})
		}
		step(len(chain) - 1)
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return err
		}
		return pathErr("mkdir", dir, err)
	}
	return nil
}

// ReadDir returns the sorted names in dir.
func (d *IndexedDB) ReadDir(dir string) ([]string, error) {
	key := clean(dir)
	prefix := childPrefix(key)
	var names []string
	err := d.run(false, func(t *txn) {
		list := func() {
			req := t.store(storeNames).Call("getAllKeys", childRange(key))
			t.on(req, "success", func(js.Value) {
				keys := req.Get("result")
				for i := range keys.Length() {
					k := keys.Index(i).String()
					if !strings.HasPrefix(k, prefix) || k == prefix {
						continue
					}
					rest := k[len(prefix):]
					if rest != "" && !strings.Contains(rest, "/") {
						names = append(names, rest)
					}
				}
			})
		}
		t.inDir(key, list)
	})
	if err != nil {
		return nil, pathErr("readdirent", dir, err)
	}
	// IndexedDB orders string keys by UTF-16 code units, Go by bytes:
	// the same for the names a store writes, not for every name.
	slices.Sort(names)
	return names, nil
}

// Lstat describes name: a directory or a regular file (there are no
// links). The size is the one a reader in this process would see.
func (d *IndexedDB) Lstat(name string) (fs.FileInfo, error) {
	key := clean(name)
	if isRoot(key) {
		return &idbInfo{name: path.Base(key), dir: true}, nil
	}
	info := &idbInfo{name: path.Base(key)}
	err := d.run(false, func(t *txn) {
		t.get(storeNames, key, func(v js.Value) {
			switch {
			case v.IsUndefined():
				t.fail(syscall.ENOENT)
			case v.Float() == 0:
				info.dir = true
			default:
				info.id = v.Float()
				t.get(storeInodes, info.id, func(s js.Value) {
					if s.Type() == js.TypeNumber {
						info.size = int64(s.Float())
					}
				})
			}
		})
	})
	if err != nil {
		return nil, pathErr("lstat", name, err)
	}
	if !info.dir {
		d.mu.Lock()
		if ino := d.open[info.id]; ino != nil {
			ino.mu.Lock()
			info.size = int64(len(ino.data))
			ino.mu.Unlock()
		}
		d.mu.Unlock()
	}
	return info, nil
}

// SyncDir does nothing: every creation, rename and removal was a strict
// transaction, complete before it returned.
func (d *IndexedDB) SyncDir(string) error { return nil }

// held are the locks this program holds, by key; the Web Locks API keeps
// other tabs out.
var idbHeld sync.Map

// Lock takes the exclusive lock on name: within this program, and through
// navigator.locks across the origin's tabs and workers where the browser
// has it. Nothing is stored.
func (d *IndexedDB) Lock(name string) (io.Closer, error) {
	key := clean(name)
	if _, taken := idbHeld.LoadOrStore(key, struct{}{}); taken {
		return nil, ErrLocked
	}
	l := &webLock{key: key}
	locks := js.Global().Get("navigator").Get("locks")
	if !locks.Truthy() {
		return l, nil
	}
	// The browser answers with the grant callback, or rejects the request
	// (a sandboxed frame without its own origin gets a SecurityError).
	got := make(chan error, 2)
	l.grant = js.FuncOf(func(_ js.Value, args []js.Value) any {
		if len(args) == 0 || args[0].IsNull() {
			got <- ErrLocked
			return nil
		}
		// The lock is held until this promise settles: Close resolves it.
		l.hold = js.FuncOf(func(_ js.Value, args []js.Value) any {
			l.release = args[0]
			return nil
		})
		p := js.Global().Get("Promise").New(l.hold)
		got <- nil
		return p
	})
	l.rejected = js.FuncOf(func(_ js.Value, args []js.Value) any {
		var reason js.Value
		if len(args) > 0 {
			reason = args[0]
		}
		got <- domError(reason)
		return nil
	})
	opts := js.ValueOf(map[string]any{"ifAvailable": true, "mode": "exclusive"})
	err := catch(func() {
		l.request = locks.Call("request", "savekit:"+key, opts, l.grant)
		l.request.Call("catch", l.rejected)
	})
	if err == nil {
		err = <-got
	}
	if err != nil {
		l.free()
		idbHeld.Delete(key)
		if errors.Is(err, ErrLocked) {
			return nil, ErrLocked
		}
		return nil, pathErr("lock", name, err)
	}
	return l, nil
}

type webLock struct {
	key      string
	once     sync.Once
	grant    js.Func
	hold     js.Func
	rejected js.Func
	release  js.Value // resolves the promise that holds the lock
	request  js.Value // settles once the browser has released the lock
}

func (l *webLock) free() {
	if l.grant.Truthy() {
		l.grant.Release()
	}
	if l.hold.Truthy() {
		l.hold.Release()
	}
	if l.rejected.Truthy() {
		l.rejected.Release()
	}
}

// Close releases the lock and returns once the browser has: a Lock right
// after it, here or in another tab, can have it.
func (l *webLock) Close() error {
	l.once.Do(func() {
		if l.release.Truthy() {
			done := make(chan struct{})
			settled := js.FuncOf(func(js.Value, []js.Value) any { close(done); return nil })
			l.request.Call("then", settled, settled)
			l.release.Invoke()
			<-done
			settled.Release()
		}
		l.free()
		idbHeld.Delete(l.key)
	})
	return nil
}

// inode is a file's bytes in this process, shared by its open handles.
type inode struct {
	id      float64
	mu      sync.Mutex
	data    []byte
	version uint64 // bumped by every change; flushed tells what is stored
	flushed uint64
	failed  bool // a flush failed: the bytes are not stored, and never will be
	refs    int  // guarded by IndexedDB.mu
}

// idbFile is an open handle.
type idbFile struct {
	fsys     *IndexedDB
	ino      *inode
	name     string
	key      string
	writable bool
	closed   bool
}

func (f *idbFile) Name() string { return f.name }

// errClosed is what a handle's methods return after its Close.
func (f *idbFile) errClosed(op string) error {
	if f.fsys.isClosed(f) {
		return pathErr(op, f.name, os.ErrClosed)
	}
	return nil
}

func (d *IndexedDB) isClosed(f *idbFile) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return f.closed
}

func (f *idbFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.errClosed("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, syscall.EINVAL)
	}
	f.ino.mu.Lock()
	defer f.ino.mu.Unlock()
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *idbFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.errClosed("write"); err != nil {
		return 0, err
	}
	if !f.writable {
		return 0, pathErr("write", f.name, syscall.EBADF)
	}
	if off < 0 || off+int64(len(p)) > maxFile {
		return 0, pathErr("write", f.name, syscall.EFBIG)
	}
	f.ino.mu.Lock()
	defer f.ino.mu.Unlock()
	if end := int(off) + len(p); end > len(f.ino.data) {
		f.ino.data = append(f.ino.data, make([]byte, end-len(f.ino.data))...)
	}
	copy(f.ino.data[off:], p)
	f.ino.version++
	return len(p), nil
}

// maxFile bounds a file: a wasm program's memory is 4 GiB.
const maxFile = 1 << 31

func (f *idbFile) Size() (int64, error) {
	f.ino.mu.Lock()
	defer f.ino.mu.Unlock()
	return int64(len(f.ino.data)), nil
}

func (f *idbFile) Truncate(size int64) error {
	if err := f.errClosed("truncate"); err != nil {
		return err
	}
	if !f.writable {
		return pathErr("truncate", f.name, syscall.EBADF)
	}
	if size < 0 || size > maxFile {
		return pathErr("truncate", f.name, syscall.EINVAL)
	}
	f.ino.mu.Lock()
	defer f.ino.mu.Unlock()
	if int(size) <= len(f.ino.data) {
		f.ino.data = f.ino.data[:size]
	} else {
		f.ino.data = append(f.ino.data, make([]byte, int(size)-len(f.ino.data))...)
	}
	f.ino.version++
	return nil
}

// Linked reports whether the file's name still holds this file's id.
func (f *idbFile) Linked() (bool, error) {
	linked := false
	err := f.fsys.run(false, func(t *txn) {
		t.get(storeNames, f.key, func(v js.Value) {
			linked = v.Type() == js.TypeNumber && v.Float() == f.ino.id
		})
	})
	if err != nil {
		return false, pathErr("stat", f.name, err)
	}
	return linked, nil
}

// Sync stores the file's bytes in one strict transaction, if the file
// still exists under some name; a file removed or replaced meanwhile is
// left unstored, as an unlinked inode's data is on a disk.
func (f *idbFile) Sync() error {
	if err := f.errClosed("sync"); err != nil {
		return err
	}
	return f.flush()
}

func (f *idbFile) flush() error {
	if err := f.fsys.flush(f); err != nil {
		return pathErr("sync", f.name, err)
	}
	return nil
}

// flush stores the files' bytes and sizes in one strict transaction: all
// of them or none. A file whose last flush failed is not flushed again
// (Close skips it too), as a disk drops what it could not write: a save
// reported failed never becomes the one that loads.
func (d *IndexedDB) flush(files ...*idbFile) error {
	type pending struct {
		ino     *inode
		version uint64
		buf     js.Value
		size    int
	}
	var todo []pending
	for _, f := range files {
		ino := f.ino
		ino.mu.Lock()
		if ino.failed {
			ino.mu.Unlock()
			return errors.New("an earlier flush of this file failed; what it held is not stored")
		}
		if ino.version != ino.flushed {
			buf := js.Global().Get("Uint8Array").New(len(ino.data))
			js.CopyBytesToJS(buf, ino.data)
			todo = append(todo, pending{ino, ino.version, buf, len(ino.data)})
		}
		ino.mu.Unlock()
	}
	if len(todo) == 0 {
		return nil
	}
	err := d.run(true, func(t *txn) {
		for _, p := range todo {
			// A file removed or replaced meanwhile is left unstored, as an
			// unlinked inode's data is on a disk.
			req := t.store(storeInodes).Call("getKey", p.ino.id)
			t.on(req, "success", func(js.Value) {
				if req.Get("result").IsUndefined() {
					return
				}
				t.put(storeData, p.ino.id, p.buf)
				t.put(storeInodes, p.ino.id, p.size)
			})
		}
	})
	d.mu.Lock()
	if err == nil {
		d.flushes++
	}
	for _, p := range todo {
		p.ino.mu.Lock()
		if err != nil {
			p.ino.failed = true
		} else if p.version > p.ino.flushed {
			p.ino.flushed = p.version
		}
		p.ino.mu.Unlock()
		if err == nil {
			d.lastFlush[p.ino.id] = d.flushes
		}
	}
	d.mu.Unlock()
	return err
}

// DatasyncAll stores the bytes of every file in one strict transaction:
// after a crash, a closed tab or a full quota, all of them or none.
func (d *IndexedDB) DatasyncAll(files ...File) error {
	fs := make([]*idbFile, len(files))
	for i, f := range files {
		idf, ok := f.(*idbFile)
		if !ok || idf.fsys != d {
			return fmt.Errorf("vfs: DatasyncAll of %s, not a file of this IndexedDB", f.Name())
		}
		if err := idf.errClosed("sync"); err != nil {
			return err
		}
		fs[i] = idf
	}
	if err := d.flush(fs...); err != nil {
		return fmt.Errorf("sync %d files: %w", len(files), err)
	}
	return nil
}

// Datasync is Sync: a transaction stores the bytes and the size together.
func (f *idbFile) Datasync() error { return f.Sync() }

// Close releases the handle. The last handle on a file stores what was
// written and not yet flushed, as a disk's page cache eventually does,
// unless a flush of it failed.
func (f *idbFile) Close() error {
	d := f.fsys
	d.mu.Lock()
	if f.closed {
		d.mu.Unlock()
		return pathErr("close", f.name, os.ErrClosed)
	}
	f.closed = true
	f.ino.refs--
	last := f.ino.refs == 0
	d.mu.Unlock()
	if !last {
		return nil
	}
	var err error
	f.ino.mu.Lock()
	failed := f.ino.failed // already reported; nothing more to store
	f.ino.mu.Unlock()
	if !failed {
		err = f.flush()
	}
	d.mu.Lock()
	if f.ino.refs == 0 && d.open[f.ino.id] == f.ino {
		delete(d.open, f.ino.id)
	}
	d.mu.Unlock()
	return err
}

// idbInfo is what Lstat returns.
type idbInfo struct {
	name string
	id   float64
	size int64
	dir  bool
}

func (i *idbInfo) Name() string { return i.name }
func (i *idbInfo) Size() int64  { return i.size }
func (i *idbInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o700
	}
	return 0o600
}
func (i *idbInfo) ModTime() time.Time { return time.Time{} }
func (i *idbInfo) IsDir() bool        { return i.dir }
func (i *idbInfo) Sys() any           { return nil }
