package vfs

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zeebo/xxh3"
)

// SectorSize is the unit at which CrashFS tears an unsynced write.
const SectorSize = 512

// CrashFS is an in-memory file system that models what a power cut keeps.
//
// The model: a write or truncate is volatile until its file is synced
// (Sync or Datasync); a creation, rename or removal is volatile until its
// directory is synced (SyncDir). A sync makes durable everything of its file
// or directory done before it. At a power cut, any subset of the volatile
// operations is lost, independently of their order; those kept are applied
// in the order they were made. A kept write may also be torn: each
// 512-byte sector it touches holds the new bytes, the old ones, zeros or
// garbage. A file whose creation is lost is gone with its data, even if
// the data was synced.
//
// The model is stricter than real file systems (ext4 commits metadata in
// order; most drives write a sector whole), so a protocol that survives it
// survives them.
//
// Every operation is recorded. Ops returns how many; CrashStates enumerates
// the distinct states a power cut after any prefix of them could leave, and
// Crash picks one at random. Each state is a new CrashFS holding that state
// as durable, ready to be opened by the code under test.
//
// A CrashFS is safe for concurrent use.
type CrashFS struct {
	mu    sync.Mutex
	base  *fsState // durable state when this CrashFS was made
	cur   *fsState // state as the running program sees it
	log   []crashOp
	ino   int // last inode number handed out
	temps uint64
	locks map[string]bool
	open  int // open File handles
}

type fsState struct {
	dirs    map[string]bool // existing directories
	entries map[string]int  // file path -> inode
	data    map[int]*[]byte // inode -> contents, shared between clones until written
	owned   map[int]bool    // inodes whose contents this state alone holds
}

func newState() *fsState {
	return &fsState{dirs: map[string]bool{}, entries: map[string]int{}, data: map[int]*[]byte{},
		owned: map[int]bool{}}
}

// clone copies s; file contents are shared, copy-on-write.
func (s *fsState) clone() *fsState {
	c := newState()
	for d := range s.dirs {
		c.dirs[d] = true
	}
	for p, i := range s.entries {
		c.entries[p] = i
	}
	for i, b := range s.data {
		c.data[i] = b
	}
	clear(s.owned) // shared now: the next write on either side copies
	return c
}

// file returns inode ino's contents for writing, copying them first if
// they are shared with a clone.
func (s *fsState) file(ino int) *[]byte {
	b := s.data[ino]
	if b == nil {
		b = new([]byte)
	} else if !s.owned[ino] {
		nb := slices.Clone(*b)
		b = &nb
	}
	s.data[ino] = b
	s.owned[ino] = true
	return b
}

type opKind uint8

const (
	opMkdir opKind = iota
	opCreate
	opWrite
	opTruncate
	opRename
	opRemove
	opSyncFile
	opSyncDir
)

var opNames = [...]string{"mkdir", "create", "write", "truncate", "rename", "remove", "syncfile", "syncdir"}

// crashOp is one recorded operation.
type crashOp struct {
	kind  opKind
	path  string // mkdir, create, remove, rename source, syncdir
	path2 string // rename target
	dir   string // directory a namespace operation lives in
	ino   int    // create, write, truncate, syncfile
	off   int64
	data  []byte
	size  int64
}

func (o crashOp) String() string {
	switch o.kind {
	case opWrite:
		return fmt.Sprintf("write inode %d [%d,%d)", o.ino, o.off, o.off+int64(len(o.data)))
	case opTruncate:
		return fmt.Sprintf("truncate inode %d to %d", o.ino, o.size)
	case opRename:
		return fmt.Sprintf("rename %s -> %s", filepath.Base(o.path), filepath.Base(o.path2))
	case opSyncFile:
		return fmt.Sprintf("sync inode %d", o.ino)
	case opCreate:
		return fmt.Sprintf("create %s (inode %d)", filepath.Base(o.path), o.ino)
	}
	return opNames[o.kind] + " " + o.path
}

func (o crashOp) isNamespace() bool {
	return o.kind == opMkdir || o.kind == opCreate || o.kind == opRename || o.kind == opRemove
}

func (o crashOp) isData() bool { return o.kind == opWrite || o.kind == opTruncate }

// NewCrashFS returns an empty CrashFS. The root "/" and any directory made
// with MkdirAll exist; paths are cleaned with filepath.Clean.
func NewCrashFS() *CrashFS {
	c := &CrashFS{base: newState(), locks: map[string]bool{}}
	c.base.dirs[string(filepath.Separator)] = true
	c.base.dirs["."] = true
	c.cur = c.base.clone()
	return c
}

// Ops returns the number of operations recorded so far. A power cut "at
// boundary i" happens after the first i operations.
func (c *CrashFS) Ops() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log)
}

// Op describes recorded operation i, for messages.
func (c *CrashFS) Op(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.log[i].String()
}

// OpenFiles returns how many Files are open, for leak checks.
func (c *CrashFS) OpenFiles() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

func (c *CrashFS) record(o crashOp) {
	c.log = append(c.log, o)
	applyOp(c.cur, o, choiceFull, 0)
}

func pathErr(op, path string, err error) error { return &fs.PathError{Op: op, Path: path, Err: err} }

// OpenFile implements FS.
func (c *CrashFS) OpenFile(name string, flag int) (File, error) {
	name = filepath.Clean(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur.dirs[name] {
		return nil, pathErr("open", name, syscall.EISDIR)
	}
	ino, ok := c.cur.entries[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, pathErr("open", name, fs.ErrExist)
	case !ok && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, fs.ErrNotExist)
	case !ok:
		dir := filepath.Dir(name)
		if !c.cur.dirs[dir] {
			return nil, pathErr("open", name, fs.ErrNotExist)
		}
		c.ino++
		ino = c.ino
		c.record(crashOp{kind: opCreate, path: name, dir: dir, ino: ino})
	}
	c.open++
	return &crashFile{fs: c, name: name, ino: ino, writable: flag&(os.O_RDWR|os.O_WRONLY) != 0}, nil
}

// CreateTemp implements FS. Names are deterministic: prefix, a counter,
// ".tmp".
func (c *CrashFS) CreateTemp(dir, prefix string) (File, error) {
	for {
		c.mu.Lock()
		c.temps++
		n := c.temps
		c.mu.Unlock()
		f, err := c.OpenFile(filepath.Join(dir, fmt.Sprintf("%s%016x.tmp", prefix, n)), os.O_RDWR|os.O_CREATE|os.O_EXCL)
		if err == nil || !os.IsExist(err) {
			return f, err
		}
	}
}

// Rename implements FS.
func (c *CrashFS) Rename(oldpath, newpath string) error {
	oldpath, newpath = filepath.Clean(oldpath), filepath.Clean(newpath)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur.entries[oldpath]; !ok {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	if filepath.Dir(oldpath) != filepath.Dir(newpath) {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: syscall.EXDEV}
	}
	if c.cur.dirs[newpath] {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: syscall.EISDIR}
	}
	c.record(crashOp{kind: opRename, path: oldpath, path2: newpath, dir: filepath.Dir(oldpath)})
	return nil
}

// Remove implements FS.
func (c *CrashFS) Remove(name string) error {
	name = filepath.Clean(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.cur.entries[name]; !ok {
		return pathErr("remove", name, fs.ErrNotExist)
	}
	c.record(crashOp{kind: opRemove, path: name, dir: filepath.Dir(name)})
	return nil
}

// MkdirAll implements FS.
func (c *CrashFS) MkdirAll(dir string) error {
	dir = filepath.Clean(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	var missing []string
	for d := dir; !c.cur.dirs[d]; d = filepath.Dir(d) {
		if _, ok := c.cur.entries[d]; ok {
			return pathErr("mkdir", d, syscall.ENOTDIR)
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	for i := len(missing) - 1; i >= 0; i-- {
		c.record(crashOp{kind: opMkdir, path: missing[i], dir: filepath.Dir(missing[i])})
	}
	return nil
}

// ReadDir implements FS.
func (c *CrashFS) ReadDir(dir string) ([]string, error) {
	dir = filepath.Clean(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cur.dirs[dir] {
		return nil, pathErr("readdir", dir, fs.ErrNotExist)
	}
	var names []string
	for p := range c.cur.entries {
		if filepath.Dir(p) == dir {
			names = append(names, filepath.Base(p))
		}
	}
	for d := range c.cur.dirs {
		if d != dir && filepath.Dir(d) == dir {
			names = append(names, filepath.Base(d))
		}
	}
	sort.Strings(names)
	return names, nil
}

// Lstat implements FS.
func (c *CrashFS) Lstat(name string) (fs.FileInfo, error) {
	name = filepath.Clean(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur.dirs[name] {
		return memInfo{name: filepath.Base(name), mode: fs.ModeDir | 0o700}, nil
	}
	ino, ok := c.cur.entries[name]
	if !ok {
		return nil, pathErr("lstat", name, fs.ErrNotExist)
	}
	return memInfo{name: filepath.Base(name), size: int64(len(*c.cur.data[ino])), mode: 0o600}, nil
}

// SyncDir implements FS.
func (c *CrashFS) SyncDir(dir string) error {
	dir = filepath.Clean(dir)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.cur.dirs[dir] {
		return pathErr("syncdir", dir, fs.ErrNotExist)
	}
	c.record(crashOp{kind: opSyncDir, path: dir, dir: dir})
	return nil
}

// Lock implements FS. Locks live in memory and do not survive a crash.
func (c *CrashFS) Lock(name string) (io.Closer, error) {
	name = filepath.Clean(name)
	f, err := c.OpenFile(name, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.locks[name] {
		c.open--
		return nil, ErrLocked
	}
	c.locks[name] = true
	return &crashLock{c: c, name: name, f: f}, nil
}

type crashLock struct {
	c    *CrashFS
	name string
	f    File
	once sync.Once
}

func (l *crashLock) Close() error {
	l.once.Do(func() {
		l.c.mu.Lock()
		delete(l.c.locks, l.name)
		l.c.mu.Unlock()
		l.f.Close()
	})
	return nil
}

type memInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (m memInfo) Name() string       { return m.name }
func (m memInfo) Size() int64        { return m.size }
func (m memInfo) Mode() fs.FileMode  { return m.mode }
func (m memInfo) ModTime() time.Time { return time.Time{} } // not modelled
func (m memInfo) IsDir() bool        { return m.mode.IsDir() }
func (m memInfo) Sys() any           { return nil }

// crashFile is an open file of a CrashFS. It follows its inode through
// renames, like a real file descriptor.
type crashFile struct {
	fs       *CrashFS
	name     string
	ino      int
	writable bool
	closed   bool
}

func (f *crashFile) Name() string { return f.name }

func (f *crashFile) check(op string, write bool) error {
	if f.closed {
		return pathErr(op, f.name, fs.ErrClosed)
	}
	if write && !f.writable {
		return pathErr(op, f.name, syscall.EBADF)
	}
	return nil
}

func (f *crashFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read", false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("read", f.name, syscall.EINVAL)
	}
	data := *f.fs.cur.data[f.ino]
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *crashFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", true); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("write", f.name, syscall.EINVAL)
	}
	f.fs.record(crashOp{kind: opWrite, ino: f.ino, off: off, data: slices.Clone(p)})
	return len(p), nil
}

func (f *crashFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", true); err != nil {
		return err
	}
	if size < 0 {
		return pathErr("truncate", f.name, syscall.EINVAL)
	}
	f.fs.record(crashOp{kind: opTruncate, ino: f.ino, size: size})
	return nil
}

// Linked implements File: the name still refers to this file's inode.
func (f *crashFile) Linked() (bool, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return false, err
	}
	ino, ok := f.fs.cur.entries[f.name]
	return ok && ino == f.ino, nil
}

func (f *crashFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false); err != nil {
		return 0, err
	}
	return int64(len(*f.fs.cur.data[f.ino])), nil
}

func (f *crashFile) Sync() error { return f.sync("sync") }

func (f *crashFile) Datasync() error { return f.sync("fdatasync") }

func (f *crashFile) sync(op string) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(op, false); err != nil {
		return err
	}
	f.fs.record(crashOp{kind: opSyncFile, ino: f.ino})
	return nil
}

func (f *crashFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return pathErr("close", f.name, fs.ErrClosed)
	}
	f.closed = true
	f.fs.open--
	return nil
}

// How a crash treats one volatile operation.
const (
	choiceLost = -1 // the operation never reached the disk
	choiceFull = 0  // it did, whole
	// choice k > 0: a torn write, pattern k-1 of tearPatterns
)

// Sector contents in a torn write.
const (
	sectorNew = iota
	sectorOld
	sectorZero
	sectorGarbage
)

// applyOp applies o to s; for a write, choice selects a tear pattern.
func applyOp(s *fsState, o crashOp, choice int, seed uint64) {
	switch o.kind {
	case opMkdir:
		s.dirs[o.path] = true
	case opCreate:
		if !s.dirs[o.dir] {
			return
		}
		s.entries[o.path] = o.ino
		if s.data[o.ino] == nil {
			s.file(o.ino)
		}
	case opRename:
		ino, ok := s.entries[o.path]
		if !ok {
			return
		}
		delete(s.entries, o.path)
		s.entries[o.path2] = ino
	case opRemove:
		delete(s.entries, o.path)
	case opTruncate:
		b := s.file(o.ino)
		if o.size <= int64(len(*b)) {
			*b = (*b)[:o.size]
		} else {
			*b = append(*b, make([]byte, o.size-int64(len(*b)))...)
		}
	case opWrite:
		b := s.file(o.ino)
		writeTorn(b, o, choice, seed)
	}
}

// writeTorn applies write o to *b, whole (choice 0) or torn.
func writeTorn(b *[]byte, o crashOp, choice int, seed uint64) {
	end := o.off + int64(len(o.data))
	if choice == choiceFull {
		if end > int64(len(*b)) {
			*b = append(*b, make([]byte, end-int64(len(*b)))...)
		}
		copy((*b)[o.off:], o.data)
		return
	}
	pattern := tearPattern(sectorsOf(o), choice-1, seed)
	if end > int64(len(*b)) {
		*b = append(*b, make([]byte, end-int64(len(*b)))...)
	}
	first := o.off / SectorSize
	garbage := rand.New(rand.NewPCG(seed, uint64(o.off)))
	for i, what := range pattern {
		lo := max(o.off, (first+int64(i))*SectorSize)
		hi := min(end, (first+int64(i)+1)*SectorSize)
		dst := (*b)[lo:hi]
		switch what {
		case sectorNew:
			copy(dst, o.data[lo-o.off:hi-o.off])
		case sectorZero:
			clear(dst)
		case sectorGarbage:
			for j := range dst {
				dst[j] = byte(garbage.Uint32())
			}
		}
		// sectorOld: leave the bytes as they were (zeros past the old end).
	}
}

// sectorsOf is the number of sectors write o touches.
func sectorsOf(o crashOp) int {
	if len(o.data) == 0 {
		return 0
	}
	return int((o.off+int64(len(o.data))-1)/SectorSize - o.off/SectorSize + 1)
}

// tearPatternCount is how many torn variants a write of n sectors has in
// enumeration. Up to 2 sectors: every combination of new, old, zero and
// garbage except all-new and all-old. Beyond: the tears a power cut makes
// in practice — a prefix of new sectors then one zero or garbage sector
// then old ones (2n), and all new but one old, zero or garbage sector (3n).
func tearPatternCount(n int) int {
	switch {
	case n == 0:
		return 0
	case n <= 2:
		total := 1
		for range n {
			total *= 4
		}
		return total - 2
	}
	return 5 * n
}

// tearPattern returns torn variant k of a write of n sectors. k beyond
// tearPatternCount(n) draws a random combination from seed and k.
func tearPattern(n, k int, seed uint64) []int {
	p := make([]int, n)
	if n <= 2 && k < tearPatternCount(n) {
		// Combinations in base 4, skipping 0 (all new) and the all-old one.
		allOld := 0
		for range n {
			allOld = allOld*4 + sectorOld
		}
		code := k + 1
		if code >= allOld {
			code++
		}
		for i := range n {
			p[i] = code % 4
			code /= 4
		}
		return p
	}
	if k < 2*n {
		at, what := k/2, sectorZero+k%2
		for i := range p {
			switch {
			case i < at:
				p[i] = sectorNew
			case i == at:
				p[i] = what
			default:
				p[i] = sectorOld
			}
		}
		return p
	}
	if k < 5*n {
		k -= 2 * n
		at, what := k/3, sectorOld+k%3
		p[at] = what
		return p
	}
	r := rand.New(rand.NewPCG(seed, uint64(k)))
	for i := range p {
		p[i] = r.IntN(4)
	}
	return p
}

// CrashOptions configures the power-cut model of CrashStates and Crash.
type CrashOptions struct {
	// Limit is the most states CrashStates yields for one boundary. When
	// the combinations of a boundary exceed it, it samples Limit of them
	// (seeded) instead of enumerating. Default 4096.
	Limit int
	// Seed makes sampling and garbage sectors reproducible.
	Seed uint64
	// NoTear keeps every write whole: lost or kept, never torn.
	NoTear bool
}

// volatileAt returns the indexes of the operations among the first n that
// are still volatile after them: no later sync among the first n covers
// them.
func (c *CrashFS) volatileAt(n int) []int {
	var vol []int
	syncedIno := map[int]bool{}
	syncedDir := map[string]bool{}
	for i := n - 1; i >= 0; i-- {
		o := c.log[i]
		switch {
		case o.kind == opSyncFile:
			syncedIno[o.ino] = true
		case o.kind == opSyncDir:
			syncedDir[o.dir] = true
		case o.isData() && !syncedIno[o.ino]:
			vol = append(vol, i)
		case o.isNamespace() && !syncedDir[o.dir]:
			vol = append(vol, i)
		}
	}
	slices.Reverse(vol)
	return vol
}

// choices returns how many ways a power cut may treat operation o.
func choices(o crashOp, opts *CrashOptions) int {
	n := 2 // lost or kept
	if o.kind == opWrite && !opts.NoTear {
		n += tearPatternCount(sectorsOf(o))
	}
	return n
}

// stateAt builds the state a power cut after the first n operations leaves
// when volatile operation vol[j] is treated as choice[j].
func (c *CrashFS) stateAt(n int, vol []int, choice []int, seed uint64) *fsState {
	s := c.base.clone()
	j := 0
	for i := 0; i < n; i++ {
		o := c.log[i]
		ch := choiceFull
		if j < len(vol) && vol[j] == i {
			ch = choice[j]
			j++
		}
		if ch != choiceLost {
			applyOp(s, o, ch, seed^uint64(i))
		}
	}
	return s
}

func (s *fsState) hash() uint64 {
	h := xxh3.New()
	dirs := slices.Sorted(func(yield func(string) bool) {
		for d := range s.dirs {
			if !yield(d) {
				return
			}
		}
	})
	for _, d := range dirs {
		h.WriteString("d" + d + "\x00")
	}
	paths := make([]string, 0, len(s.entries))
	for p := range s.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var num [8]byte
	for _, p := range paths {
		h.WriteString("f" + p + "\x00")
		data := *s.data[s.entries[p]]
		binary.LittleEndian.PutUint64(num[:], xxh3.Hash(data))
		h.Write(num[:])
	}
	return h.Sum64()
}

// fromState returns a new CrashFS whose durable and visible state is s.
func (c *CrashFS) fromState(s *fsState) *CrashFS {
	// Keep only reachable inodes, so later states hash and clone cheaply.
	reach := map[int]bool{}
	for _, i := range s.entries {
		reach[i] = true
	}
	for i := range s.data {
		if !reach[i] {
			delete(s.data, i)
			delete(s.owned, i)
		}
	}
	n := &CrashFS{base: s, locks: map[string]bool{}, ino: c.ino, temps: c.temps}
	n.cur = s.clone()
	return n
}

// CrashHow says how a power cut treated each volatile operation; its
// String is for failure messages.
type CrashHow struct {
	c           *CrashFS
	vol, choice []int
}

func (h CrashHow) String() string { return h.c.describe(h.vol, h.choice) }

// CrashStates yields the distinct states a power cut after the first n
// recorded operations could leave, each as a new CrashFS, with how it
// treated each volatile operation. It enumerates every combination when
// they number at most opts.Limit, else samples opts.Limit of them; either
// way duplicates are skipped.
func (c *CrashFS) CrashStates(n int, opts CrashOptions) iter.Seq2[*CrashFS, CrashHow] {
	if opts.Limit <= 0 {
		opts.Limit = 4096
	}
	return func(yield func(*CrashFS, CrashHow) bool) {
		c.mu.Lock()
		vol := c.volatileAt(n)
		radix := make([]int, len(vol))
		total := 1
		for j, i := range vol {
			radix[j] = choices(c.log[i], &opts)
			if total <= opts.Limit {
				total *= radix[j]
			}
		}
		c.mu.Unlock()
		seen := map[uint64]bool{}
		choice := make([]int, len(vol))
		emit := func() bool {
			c.mu.Lock()
			s := c.stateAt(n, vol, choice, opts.Seed)
			c.mu.Unlock()
			h := s.hash()
			if seen[h] {
				return true
			}
			seen[h] = true
			return yield(c.fromState(s), CrashHow{c: c, vol: vol, choice: slices.Clone(choice)})
		}
		if total <= opts.Limit {
			// Mixed-radix counter over every combination; digit value d
			// means choice d-1 (lost, whole, torn patterns).
			digits := make([]int, len(vol))
			for {
				for j := range digits {
					choice[j] = digits[j] - 1
				}
				if !emit() {
					return
				}
				j := 0
				for ; j < len(digits); j++ {
					digits[j]++
					if digits[j] < radix[j] {
						break
					}
					digits[j] = 0
				}
				if j == len(digits) {
					return
				}
			}
		}
		r := rand.New(rand.NewPCG(opts.Seed, uint64(n)))
		for k := range opts.Limit {
			for j := range choice {
				switch k {
				case 0:
					choice[j] = choiceLost // everything volatile lost
				case 1:
					choice[j] = choiceFull // everything kept
				default:
					choice[j] = r.IntN(radix[j]) - 1
				}
			}
			if !emit() {
				return
			}
		}
	}
}

func (c *CrashFS) describe(vol, choice []int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var parts []string
	for j, i := range vol {
		what := "kept"
		switch {
		case choice[j] == choiceLost:
			what = "lost"
		case choice[j] > 0:
			what = fmt.Sprintf("torn%v", tearPattern(sectorsOf(c.log[i]), choice[j]-1, 0))
		}
		parts = append(parts, fmt.Sprintf("%s: %s", c.log[i], what))
	}
	if len(parts) == 0 {
		return "nothing volatile"
	}
	return strings.Join(parts, "; ")
}

// Crash returns the state after a power cut now, drawn at random from
// CrashStates' model by seed: each volatile operation is lost, kept or
// (a write) torn.
func (c *CrashFS) Crash(seed uint64) *CrashFS {
	return c.CrashAt(c.Ops(), seed)
}

// CrashAt is Crash at an earlier instant: after the first n recorded
// operations. Recording a whole save and then cutting at a random n lands
// the power cut at any step of it.
func (c *CrashFS) CrashAt(n int, seed uint64) *CrashFS {
	c.mu.Lock()
	defer c.mu.Unlock()
	opts := CrashOptions{Seed: seed}
	vol := c.volatileAt(n)
	r := rand.New(rand.NewPCG(seed, 0xc7a5))
	choice := make([]int, len(vol))
	for j, i := range vol {
		choice[j] = r.IntN(choices(c.log[i], &opts)) - 1
	}
	return c.fromState(c.stateAt(n, vol, choice, seed))
}
