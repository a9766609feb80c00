package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/savekit/savekit/format"
	"github.com/savekit/savekit/format/msgjson"
	"github.com/savekit/savekit/slots"
	"github.com/savekit/savekit/slots/vfs"
)

// editorIn is the CLI's standard input (its own, or a test's): what the
// editor reads, and what "-" names where a command reads a file.
var editorIn io.Reader = os.Stdin

// parse parses flags that may come before or after the positional
// arguments, and checks their count.
func parse(fs *flag.FlagSet, args []string, want int, stderr io.Writer) ([]string, int, bool) {
	return parseArgs(fs, args, want, want, stderr)
}

// parseArgs is parse for a command taking from min to max arguments.
func parseArgs(fs *flag.FlagSet, args []string, min, max int, stderr io.Writer) ([]string, int, bool) {
	fs.SetOutput(stderr)
	fs.Usage = commandUsage(fs)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) < min || len(pos) > max {
		want := strconv.Itoa(min)
		if max > min {
			want += " to " + strconv.Itoa(max)
		}
		fmt.Fprintf(stderr, "savegame %s: want %s argument(s), got %d\n", fs.Name(), want, len(pos))
		fs.Usage()
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}

func failf(stderr io.Writer, code int, format string, args ...any) int {
	fmt.Fprintf(stderr, "savegame: "+format+"\n", args...)
	return code
}

// writeJSON writes v as indented JSON. Nothing is written when v cannot
// be encoded: a half document in a pipeline is worse than none.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("JSON output: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// listStore opens dir read-only (a running game may hold it) and lists
// its slots. On failure it reports and returns the exit status.
func listStore(dir string, stderr io.Writer) (*slots.Store, []slots.Entry, int) {
	st, err := slots.Open(dir, &slots.Options{ReadOnly: true})
	if err != nil {
		return nil, nil, failf(stderr, exitFailed, "%v", err)
	}
	entries, err := st.List()
	if err != nil {
		st.Close()
		return nil, nil, failf(stderr, exitFailed, "%v", err)
	}
	return st, entries, exitOK
}

// lockStore opens dir for writing, taking its lock; when a game holds
// it, it says so in words a player understands, naming what to retry.
func lockStore(dir, verb string, stderr io.Writer) (*slots.Store, int) {
	// slots.Open makes a missing store directory; a tool must not
	// create one where a path was mistyped.
	if _, err := os.Stat(dir); err != nil {
		return nil, failf(stderr, exitFailed, "%v", err)
	}
	st, err := slots.Open(dir, nil)
	if errors.Is(err, slots.ErrLocked) {
		return nil, failf(stderr, exitFailed, "%s is open in a game (its lock is held): close the game, then %s", dir, verb)
	}
	if err != nil {
		return nil, failf(stderr, exitFailed, "%v", err)
	}
	return st, exitOK
}

// typeBlind is the check every command applies to a candidate save before
// the rule picks it: as a tool that knows no game's types, it checks that
// the body decodes generically (maps keep their keys' types); the rule has
// already checked the metadata. A save that does not decode is passed over
// as damage is, as Load passes over a body that does not decode into the
// game's type. It builds no values (format.CheckGeneric reaches the verdict
// of a generic decode without them), so a hostile body cannot make a
// command allocate beyond the file it read: dump then streams it through
// msgjson.
func typeBlind(f *format.File) error {
	return format.CheckGeneric(f.Body)
}

// openFile opens a file the user named without following a link at it,
// without blocking on a FIFO, and only if it is a regular file.
func openFile(path string) (vfs.File, int64, error) {
	f, err := vfs.OS{}.OpenFile(path, os.O_RDONLY)
	if err != nil {
		return nil, 0, err
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, size, nil
}

// section is the body of f, or its metadata.
func section(f *format.File, meta bool) []byte {
	if meta {
		return f.Meta
	}
	return f.Body
}

// errUsage marks an argument that cannot name what a command takes.
var errUsage = errors.New("usage")

// splitSlot turns DIR/SLOT into its parts. A directory given alone is a
// usage error, not a slot named after it.
func splitSlot(path string) (dir, slot string, err error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return "", "", fmt.Errorf("%w: %s is a directory: give DIR/SLOT", errUsage, path)
	}
	dir, slot = filepath.Dir(path), filepath.Base(path)
	if strings.HasPrefix(slot, "-") {
		// Such a name would read as a flag here and in every other tool.
		return "", "", fmt.Errorf("%w: %s: slot name %q starts with '-', which reads as a flag; slot names may not start with '-'", errUsage, path, slot)
	}
	if err := slots.ValidateName(slot); err != nil {
		return "", "", fmt.Errorf("%w: %s: %w", errUsage, path, err)
	}
	return dir, slot, nil
}

// metaSummary is a one-line view of metadata: sorted keys, bin as sizes.
func metaSummary(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		var v string
		switch x := m[k].(type) {
		case []byte:
			v = fmt.Sprintf("<%d bytes>", len(x))
		case string:
			v = fmt.Sprintf("%q", x)
		default:
			v = fmt.Sprint(x)
		}
		parts = append(parts, k+"="+v)
	}
	s := strings.Join(parts, " ")
	if len(s) > 70 {
		s = s[:67] + "..."
	}
	return s
}

// jsonMeta renders metadata as dump -meta does, through msgjson, so that
// NaN, binary values and integer widths survive and both commands agree.
func jsonMeta(m map[string]any) (json.RawMessage, error) {
	if m == nil {
		return nil, nil
	}
	b, err := format.MarshalBody(m)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := msgjson.ToJSON(&out, b); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(out.Bytes())), nil
}

// utc prints a time with every digit it has (RFC 3339, nanoseconds when
// there are any), so that pack -created can rebuild a file exactly.
func utc(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ---- list

type listEntry struct {
	Slot       string          `json:"slot"`
	Generation uint64          `json:"generation"`
	File       string          `json:"file"`
	Status     string          `json:"status"`
	Schema     uint32          `json:"schema"`
	Size       int64           `json:"size"`
	Created    string          `json:"created"`
	Meta       map[string]any  `json:"-"`
	MetaJSON   json.RawMessage `json:"meta,omitempty"`
	Reason     string          `json:"reason,omitempty"`
	// BodyVerified is always false: list reads headers and metadata only.
	BodyVerified bool `json:"body_verified"`
}

func cmdList(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON output")
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	st, entries, code := listStore(pos[0], stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	var out []listEntry
	for _, e := range entries {
		le := listEntry{Slot: e.Name, Status: string(e.Status), Reason: e.Reason, File: "-"}
		if e.Slot >= 0 {
			le.Generation, le.File, le.Schema, le.Size = e.Header.Generation, "AB"[e.Slot:e.Slot+1], e.Header.Schema, e.Header.Size()
			le.Created, le.Meta = utc(e.Header.Created), e.Meta
		}
		out = append(out, le)
	}
	if *asJSON {
		for i := range out {
			var err error
			if out[i].MetaJSON, err = jsonMeta(out[i].Meta); err != nil {
				return failf(stderr, exitFailed, "%s: metadata: %v", out[i].Slot, err)
			}
		}
		if out == nil {
			out = []listEntry{}
		}
		if err := writeJSON(stdout, out); err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SLOT\tGEN\tFILE\tSTATUS\tSCHEMA\tSIZE\tCREATED\tMETA")
	for _, e := range out {
		meta := metaSummary(e.Meta)
		if e.Reason != "" {
			meta += "  (" + e.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\n", e.Slot, e.Generation, e.File, e.Status, e.Schema, e.Size, e.Created, meta)
	}
	tw.Flush()
	if len(out) > 0 {
		// A listing reads headers and metadata only; say so, since a
		// damaged body shows only when something reads it.
		fmt.Fprintln(stdout, "(headers and metadata checked; bodies not read: savegame verify reads them)")
	}
	return exitOK
}

// ---- inspect

type fileReport struct {
	Path   string         `json:"path"`
	Size   int64          `json:"size"`
	Header *headerReport  `json:"header,omitempty"`
	Checks []check        `json:"checks"`
	Meta   map[string]any `json:"meta,omitempty"`
	OK     bool           `json:"ok"`
}

type headerReport struct {
	Version    uint16 `json:"version"`
	HeaderLen  uint16 `json:"header_length"`
	Flags      uint32 `json:"flags"`
	Schema     uint32 `json:"schema"`
	Generation uint64 `json:"generation"`
	Created    string `json:"created"`
	MetaLen    uint32 `json:"metadata_length"`
	BodyLen    uint64 `json:"body_length"`
	PayloadSum string `json:"payload_checksum"`
	MetaSum    string `json:"metadata_checksum"`
	HeaderSum  string `json:"header_checksum"`
}

type check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

func inspectFile(path string) fileReport {
	rep := fileReport{Path: path}
	f, size, err := openFile(path)
	if err != nil {
		rep.Checks = append(rep.Checks, check{"open", false, err.Error()})
		return rep
	}
	defer f.Close()
	rep.Size = size
	h, err := format.ReadHeader(f)
	rep.Checks = append(rep.Checks, result("header (magic, version, header checksum)", err))
	if err != nil {
		return rep
	}
	rep.Header = &headerReport{Version: h.Version, HeaderLen: h.HeaderLen, Flags: h.Flags, Schema: h.Schema,
		Generation: h.Generation, Created: utc(h.Created), MetaLen: h.MetaLen, BodyLen: h.BodyLen,
		PayloadSum: fmt.Sprintf("%016x%016x", h.Sum.Hi, h.Sum.Lo), MetaSum: fmt.Sprintf("%016x", h.MetaSum),
		HeaderSum: fmt.Sprintf("%016x", h.HeaderSum)}
	_, meta, err := format.ReadMeta(f, rep.Size, nil)
	rep.Checks = append(rep.Checks, result("metadata (length, checksum, structure)", err))
	rep.Meta = meta
	_, err = format.Verify(f, rep.Size, nil)
	rep.Checks = append(rep.Checks, result("whole file (payload checksum, body structure)", err))
	rep.OK = err == nil
	return rep
}

func result(name string, err error) check {
	if err != nil {
		return check{name, false, err.Error()}
	}
	return check{name, true, ""}
}

type pointerReport struct {
	Path       string `json:"path"`
	OK         bool   `json:"ok"`
	Slot       string `json:"slot,omitempty"`
	Generation uint64 `json:"generation,omitempty"`
	Size       int64  `json:"size,omitempty"`
	HeaderSum  string `json:"header_checksum,omitempty"`
	Problem    string `json:"problem,omitempty"`
}

func inspectPointer(path string) pointerReport {
	rep := pointerReport{Path: path}
	f, _, err := openFile(path)
	if err != nil {
		rep.Problem = err.Error()
		return rep
	}
	defer f.Close()
	// A pointer is 64 bytes; one more tells a longer file, whatever it is.
	b := make([]byte, 65)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		rep.Problem = err.Error()
		return rep
	}
	p, err := slots.ParsePointer(b[:n])
	if err != nil {
		rep.Problem = err.Error()
		return rep
	}
	rep.OK, rep.Slot, rep.Generation, rep.Size, rep.HeaderSum = true, "AB"[p.Slot:p.Slot+1], p.Generation, p.Size, fmt.Sprintf("%016x", p.HeaderSum)
	return rep
}

type slotReport struct {
	Dir     string         `json:"dir"`
	Slot    string         `json:"slot"`
	Pointer pointerReport  `json:"pointer"`
	Files   [2]*fileReport `json:"files"`
	Loads   string         `json:"loads"`
	// Next is the generation the slot's next save will be committed as:
	// what `pack -generation` needs to make a file the slot takes.
	Next uint64 `json:"next_generation"`
	OK   bool   `json:"ok"`
}

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON output")
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	path := pos[0]
	var rep any
	good := false
	switch {
	case strings.HasSuffix(path, ".sav"):
		r := inspectFile(path)
		rep, good = r, r.OK
		if !*asJSON {
			printFile(stdout, r)
		}
	case strings.HasSuffix(path, ".ptr"):
		r := inspectPointer(path)
		rep, good = r, r.OK
		if !*asJSON {
			printPointer(stdout, r)
		}
	default:
		dir, slot, err := splitSlot(path)
		if err != nil {
			return failf(stderr, exitUsage, "%v (give a .sav file, a .ptr file, or DIR/SLOT)", err)
		}
		r := slotReport{Dir: dir, Slot: slot, Pointer: inspectPointer(filepath.Join(dir, slot+".ptr"))}
		for i := range 2 {
			p := filepath.Join(dir, fmt.Sprintf("%s.%d.sav", slot, i))
			if _, err := os.Lstat(p); err == nil {
				fr := inspectFile(p)
				r.Files[i] = &fr
			}
		}
		st, err := slots.Open(dir, &slots.Options{ReadOnly: true})
		if err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
		_, info, err := st.LoadFunc(slot, typeBlind)
		if next, nerr := st.NextGeneration(slot); nerr == nil {
			r.Next = next
		}
		st.Close()
		switch {
		case err != nil:
			r.Loads = "nothing: " + err.Error()
		case info.Recovered:
			r.Loads = fmt.Sprintf("file %s, generation %d, recovered: %s", "AB"[info.Slot:info.Slot+1], info.Generation, info.Reason)
		default:
			r.Loads = fmt.Sprintf("file %s, generation %d", "AB"[info.Slot:info.Slot+1], info.Generation)
		}
		// Damage anywhere is worth a non-zero exit, even when a fallback
		// loads (verify is the command that asks only "does it load").
		r.OK = err == nil && !info.Recovered
		for _, f := range r.Files {
			if f != nil && !f.OK {
				r.OK = false
			}
		}
		rep, good = r, r.OK
		if !*asJSON {
			fmt.Fprintf(stdout, "slot %s in %s\n\n", slot, dir)
			printPointer(stdout, r.Pointer)
			for i, f := range r.Files {
				fmt.Fprintln(stdout)
				if f == nil {
					fmt.Fprintf(stdout, "file %s (%s.%d.sav): missing\n", "AB"[i:i+1], slot, i)
					continue
				}
				fmt.Fprintf(stdout, "file %s: ", "AB"[i:i+1])
				printFile(stdout, *f)
			}
			fmt.Fprintf(stdout, "\nLoad returns: %s\n", r.Loads)
			fmt.Fprintf(stdout, "The next save: generation %d\n", r.Next)
		}
	}
	if *asJSON {
		if err := writeJSON(stdout, rep); err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
	}
	if !good {
		return exitDamaged
	}
	return exitOK
}

func printFile(w io.Writer, r fileReport) {
	fmt.Fprintf(w, "%s (%d bytes)\n", filepath.Base(r.Path), r.Size)
	if h := r.Header; h != nil {
		fmt.Fprintf(w, "  version %d, header %d bytes, flags %#x\n", h.Version, h.HeaderLen, h.Flags)
		fmt.Fprintf(w, "  generation %d, schema %d, created %s\n", h.Generation, h.Schema, h.Created)
		fmt.Fprintf(w, "  metadata %d bytes, body %d bytes\n", h.MetaLen, h.BodyLen)
		fmt.Fprintf(w, "  checksums: payload %s, metadata %s, header %s\n", h.PayloadSum, h.MetaSum, h.HeaderSum)
	}
	if r.Meta != nil {
		fmt.Fprintf(w, "  metadata: %s\n", metaSummary(r.Meta))
	}
	for _, c := range r.Checks {
		mark := "ok"
		if !c.OK {
			mark = "FAIL: " + c.Detail
		}
		fmt.Fprintf(w, "  %-47s %s\n", c.Name, mark)
	}
}

func printPointer(w io.Writer, r pointerReport) {
	if !r.OK {
		fmt.Fprintf(w, "pointer %s: %s\n", filepath.Base(r.Path), r.Problem)
		return
	}
	fmt.Fprintf(w, "pointer %s: file %s, generation %d, %d bytes, header checksum %s\n", filepath.Base(r.Path), r.Slot, r.Generation, r.Size, r.HeaderSum)
}

// ---- verify

type verifyEntry struct {
	Slot       string `json:"slot"`
	Loads      bool   `json:"loads"`
	Generation uint64 `json:"generation,omitempty"`
	Recovered  bool   `json:"recovered,omitempty"`
	Problem    string `json:"problem,omitempty"`
}

func cmdVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "JSON output")
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	st, entries, code := listStore(pos[0], stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	var out []verifyEntry
	all := true
	for _, e := range entries {
		ve := verifyEntry{Slot: e.Name}
		_, info, err := st.LoadFunc(e.Name, typeBlind)
		if err != nil {
			ve.Problem, all = err.Error(), false
		} else {
			ve.Loads, ve.Generation, ve.Recovered, ve.Problem = true, info.Generation, info.Recovered, info.Reason
		}
		out = append(out, ve)
	}
	if len(out) == 0 {
		// Nothing loads from an empty directory: a script that checks a
		// backup before restoring it must not be told all is well.
		all = false
	}
	if *asJSON {
		if out == nil {
			out = []verifyEntry{}
		}
		if err := writeJSON(stdout, out); err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
	} else if len(out) == 0 {
		fmt.Fprintf(stdout, "no saves in %s\n", pos[0])
	} else {
		for _, v := range out {
			switch {
			case !v.Loads:
				fmt.Fprintf(stdout, "%s: DOES NOT LOAD: %s\n", v.Slot, v.Problem)
			case v.Recovered:
				fmt.Fprintf(stdout, "%s: loads generation %d, recovered: %s\n", v.Slot, v.Generation, v.Problem)
			default:
				fmt.Fprintf(stdout, "%s: ok, generation %d\n", v.Slot, v.Generation)
			}
		}
		fmt.Fprintf(stdout, "%d slot(s), %s\n", len(out), map[bool]string{true: "all load", false: "NOT ALL LOAD"}[all])
	}
	if !all {
		return exitDamaged
	}
	return exitOK
}

// ---- dump, unpack

// readSave returns the verified save at path: a .sav file, or DIR/SLOT
// (the save Load returns, with where it came from: Recovered when the
// newest save was passed over).
func readSave(path string) (*format.File, slots.Info, error) {
	if path == "-" {
		// A save file on standard input, read whole but never beyond
		// what the format's limits allow a save file to be.
		max := int64(format.DefaultMaxMeta) + int64(format.DefaultMaxBody) + 4096
		b, err := io.ReadAll(io.LimitReader(editorIn, max+1))
		if err != nil {
			return nil, slots.Info{}, err
		}
		if int64(len(b)) > max {
			return nil, slots.Info{}, fmt.Errorf("standard input holds more than a save file can (%d bytes)", max)
		}
		file, err := format.Parse(b, nil)
		return file, slots.Info{}, err
	}
	if strings.HasSuffix(path, ".sav") {
		f, size, err := openFile(path)
		if err != nil {
			return nil, slots.Info{}, err
		}
		defer f.Close()
		file, err := format.Read(f, size, nil)
		return file, slots.Info{}, err
	}
	dir, slot, err := splitSlot(path)
	if err != nil {
		return nil, slots.Info{}, err
	}
	st, err := slots.Open(dir, &slots.Options{ReadOnly: true})
	if err != nil {
		return nil, slots.Info{}, err
	}
	defer st.Close()
	return st.LoadFunc(slot, typeBlind)
}

func cmdDump(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dump", flag.ContinueOnError)
	meta := fs.Bool("meta", false, "dump the metadata instead of the body")
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	f, info, err := readSave(pos[0])
	if errors.Is(err, errUsage) {
		return failf(stderr, exitUsage, "%v", err)
	}
	if err != nil {
		return failf(stderr, exitFailed, "%s: %v", pos[0], err)
	}
	doc := section(f, *meta)
	if err := msgjson.ToJSON(stdout, doc); err != nil {
		return failf(stderr, exitFailed, "%s: %v", pos[0], err)
	}
	if info.Recovered {
		// What was printed is the save Load falls back to, not the newest:
		// say so where a pipeline's reader sees it, and by the status.
		return failf(stderr, exitDamaged, "%s: dumped generation %d, the save before the newest, which does not load: %s", pos[0], info.Generation, info.Reason)
	}
	return exitOK
}

func cmdUnpack(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("unpack", flag.ContinueOnError)
	out := fs.String("o", "", "output JSON file (default: standard output)")
	meta := fs.Bool("meta", false, "the metadata instead of the body")
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	if !strings.HasSuffix(pos[0], ".sav") && pos[0] != "-" {
		return failf(stderr, exitUsage, "unpack takes a .sav file (or - for standard input)")
	}
	f, _, err := readSave(pos[0])
	if err != nil {
		return failf(stderr, exitFailed, "%s: %v", pos[0], err)
	}
	doc := section(f, *meta)
	var buf bytes.Buffer
	if err := msgjson.ToJSON(&buf, doc); err != nil {
		return failf(stderr, exitFailed, "%s: %v", pos[0], err)
	}
	if *out == "" || *out == "-" {
		if _, err := stdout.Write(buf.Bytes()); err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
		return exitOK
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	return exitOK
}

// ---- pack

func cmdPack(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	out := fs.String("o", "", "output save file (required; - for standard output)")
	schema := fs.Uint("schema", 0, "the game's schema version to record")
	gen := fs.Uint64("generation", 1, "generation to record")
	metaPath := fs.String("meta", "", "metadata JSON file (an object)")
	created := fs.String("created", "", "creation time, RFC 3339 (default: now)")
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	if *out == "" {
		return failf(stderr, exitUsage, "pack needs -o FILE.sav")
	}
	body, err := readJSONFile(pos[0])
	if err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	p := format.Params{Schema: uint32(*schema), Generation: *gen}
	if *created != "" {
		if p.Created, err = time.Parse(time.RFC3339Nano, *created); err != nil {
			return failf(stderr, exitUsage, "-created: %v", err)
		}
	}
	if *metaPath != "" {
		if p.Meta, err = readMetaJSON(*metaPath); err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
	}
	data, h, err := format.Marshal(p, msgpack.RawMessage(body), nil)
	if err != nil {
		return failf(stderr, exitFailed, "%s: %v", pos[0], err)
	}
	if *out == "-" {
		// The save itself goes down the pipe; the summary to stderr.
		if _, err := stdout.Write(data); err != nil {
			return failf(stderr, exitFailed, "%v", err)
		}
		fmt.Fprintf(stderr, "wrote %d bytes to standard output, generation %d, schema %d\n", h.Size(), h.Generation, h.Schema)
		return exitOK
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %d bytes, generation %d, schema %d\n", *out, h.Size(), h.Generation, h.Schema)
	return exitOK
}

// readJSONFile converts the JSON in path ("-": standard input) to msgpack.
func readJSONFile(path string) ([]byte, error) {
	var r io.Reader = editorIn
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := msgjson.FromJSON(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", jsonName(path), err)
	}
	return b, nil
}

// jsonName is how messages name a JSON input.
func jsonName(path string) string {
	if path == "-" {
		return "standard input"
	}
	return path
}

// ---- edit, import

// writeFlags are the flags of the commands that commit a body to a slot.
type writeFlags struct {
	force  bool
	schema optUint32
	meta   string
}

func addWriteFlags(fs *flag.FlagSet) *writeFlags {
	w := &writeFlags{}
	fs.BoolVar(&w.force, "force", false, "commit even if a value changed type or a field was removed (the game may not load it)")
	fs.Var(&w.schema, "schema", "record schema version `N` (default: the slot's)")
	fs.StringVar(&w.meta, "meta", "", "replace the metadata with the JSON object in `FILE` (default: keep the slot's)")
	return w
}

// optUint32 is a flag that knows whether it was given.
type optUint32 struct {
	v   uint32
	set bool
}

func (o *optUint32) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.FormatUint(uint64(o.v), 10)
}

func (o *optUint32) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return errors.New("not a number from 0 to 4294967295")
	}
	o.v, o.set = uint32(n), true
	return nil
}

// readMetaJSON reads a metadata object from JSON ("-": standard input).
func readMetaJSON(path string) (map[string]any, error) {
	raw, err := readJSONFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := msgpack.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: metadata must be an object with string keys: %w", jsonName(path), err)
	}
	return m, nil
}

// commitBody commits body (msgpack) to slot as a new generation, durably.
// cur is the slot's current save (nil for a slot without one): its schema
// and metadata are kept unless w overrides them, and unless w.force, a body
// that would not load into the type cur was made from is refused, naming
// each place. Nothing is written when it fails.
func commitBody(st *slots.Store, slot string, cur *format.File, body []byte, meta map[string]any, w *writeFlags, stdout, stderr io.Writer) int {
	p := format.Params{Schema: w.schema.v}
	var was uint64
	if cur != nil {
		was = cur.Header.Generation
		if !w.schema.set {
			p.Schema = cur.Header.Schema
		}
		if w.meta == "" {
			m, err := cur.DecodeMeta()
			if err != nil {
				return failf(stderr, exitFailed, "%s: metadata: %v", slot, err)
			}
			meta = m
		}
		var changes []typeChange
		var err error
		body, changes, err = checkBody(cur.Body, body)
		if err != nil {
			return failf(stderr, exitFailed, "%s: %v", slot, err)
		}
		if len(changes) > 0 {
			// The game's typed Load would refuse the save (or lose the
			// removed values); it must not replace one that loads.
			var list strings.Builder
			for i, c := range changes {
				if i == 20 {
					fmt.Fprintf(&list, "\n  ... and %d more", len(changes)-i)
					break
				}
				fmt.Fprintf(&list, "\n  %s", c)
			}
			if !w.force {
				return failf(stderr, exitFailed, "%s: not committed: compared with the current save (generation %d), the game would not load it:%s\n(-force commits it anyway)", slot, was, list.String())
			}
			fmt.Fprintf(stderr, "savegame: %s: -force: committing although the game may not load it:%s\n", slot, list.String())
		}
	}
	p.Meta = meta
	cs, err := st.Commit(slot, format.EncodeFunc(p, msgpack.RawMessage(body), nil))
	if err != nil {
		return failf(stderr, exitFailed, "%s: commit: %v (the previous save is unchanged)", slot, err)
	}
	if cur == nil {
		fmt.Fprintf(stdout, "%s: committed generation %d (a new slot)\n", slot, cs.Generation)
	} else {
		fmt.Fprintf(stdout, "%s: committed generation %d (was %d)\n", slot, cs.Generation, was)
	}
	return exitOK
}

func cmdImport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	w := addWriteFlags(fs)
	pos, code, ok := parseArgs(fs, args, 1, 2, stderr)
	if !ok {
		return code
	}
	dir, slot, err := splitSlot(pos[0])
	if err != nil {
		return failf(stderr, exitUsage, "%v", err)
	}
	src := "-"
	if len(pos) == 2 {
		src = pos[1]
	}
	if src == "-" && w.meta == "-" {
		return failf(stderr, exitUsage, "import: the body and -meta cannot both be standard input")
	}
	// Read everything before taking the lock, so that a slow pipeline
	// does not keep the game from starting.
	body, err := readJSONFile(src)
	if err != nil {
		return failf(stderr, exitFailed, "%v (the save is unchanged)", err)
	}
	var meta map[string]any
	if w.meta != "" {
		if meta, err = readMetaJSON(w.meta); err != nil {
			return failf(stderr, exitFailed, "%v (the save is unchanged)", err)
		}
	}
	st, code := lockStore(dir, "import", stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	cur, _, err := st.LoadFunc(slot, typeBlind)
	if errors.Is(err, slots.ErrNotFound) {
		cur = nil // a new slot: nothing to keep or to compare with
	} else if err != nil {
		return failf(stderr, exitFailed, "%v (nothing was written; savegame repair or inspect tells more)", err)
	}
	return commitBody(st, slot, cur, body, meta, w, stdout, stderr)
}

func cmdEdit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("edit", flag.ContinueOnError)
	w := addWriteFlags(fs)
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	dir, slot, err := splitSlot(pos[0])
	if err != nil {
		return failf(stderr, exitUsage, "%v", err)
	}
	if w.meta == "-" {
		return failf(stderr, exitUsage, "edit: -meta cannot be standard input: the editor reads it")
	}
	var meta map[string]any
	if w.meta != "" {
		if meta, err = readMetaJSON(w.meta); err != nil {
			return failf(stderr, exitFailed, "%v (the save is unchanged)", err)
		}
	}
	st, code := lockStore(dir, "edit", stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	cur, _, err := st.LoadFunc(slot, typeBlind)
	if err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	var before bytes.Buffer
	if err := msgjson.ToJSON(&before, cur.Body); err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	tmp, err := os.CreateTemp("", slot+"-*.json")
	if err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	_, err = tmp.Write(before.Bytes())
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return failf(stderr, exitFailed, "%v", err)
	}
	// The edit is kept when it cannot be committed, so that it can be
	// fixed and given to import rather than typed again.
	kept := false
	defer func() {
		if !kept {
			os.Remove(tmp.Name())
		}
	}()
	keep := func(code int) int {
		kept = true
		fmt.Fprintf(stderr, "savegame: your edit is kept in %s: fix it, then savegame import %s %s\n", tmp.Name(), pos[0], tmp.Name())
		return code
	}
	editor := os.Getenv("EDITOR")
	if editor == "" {
		editor = "vi"
	}
	parts := strings.Fields(editor)
	cmd := exec.Command(parts[0], append(parts[1:], tmp.Name())...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = editorIn, stdout, stderr
	if err := cmd.Run(); err != nil {
		return keep(failf(stderr, exitFailed, "editor %q: %v (the save is unchanged)", editor, err))
	}
	after, err := os.ReadFile(tmp.Name())
	if err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	if bytes.Equal(after, before.Bytes()) && w.meta == "" && !w.schema.set {
		fmt.Fprintf(stdout, "%s: no change\n", slot)
		return exitOK
	}
	body, err := msgjson.FromJSON(bytes.NewReader(after))
	if err != nil {
		return keep(failf(stderr, exitFailed, "the edited JSON: %v (the save is unchanged)", err))
	}
	if code := commitBody(st, slot, cur, body, meta, w, stdout, stderr); code != exitOK {
		return keep(code)
	}
	return exitOK
}

// ---- repair

func cmdRepair(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("repair", flag.ContinueOnError)
	pos, code, ok := parse(fs, args, 1, stderr)
	if !ok {
		return code
	}
	dir := pos[0]
	st, code := lockStore(dir, "repair", stderr)
	if st == nil {
		return code
	}
	defer st.Close()
	did := 0
	for _, t := range st.RemovedTemporaries() {
		fmt.Fprintf(stdout, "removed temporary %s\n", t)
		did++
	}
	entries, err := st.List()
	if err != nil {
		return failf(stderr, exitFailed, "%v", err)
	}
	failed := false
	for _, e := range entries {
		what, err := st.Repair(e.Name)
		switch {
		case err != nil:
			fmt.Fprintf(stdout, "%s: cannot repair: %v\n", e.Name, err)
			failed = true
		case what != "":
			fmt.Fprintf(stdout, "%s: %s\n", e.Name, what)
			did++
		}
	}
	if did == 0 && !failed {
		fmt.Fprintln(stdout, "nothing to repair")
	}
	if failed {
		return exitDamaged
	}
	return exitOK
}
