package format

import (
	"encoding"
	"fmt"
	"iter"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// This file bounds what decoding allocates. A validated document can still
// describe values far larger than its bytes: an empty map (one byte)
// decodes into a Go map of 48 bytes or more, or into a struct of any size
// when the target is []BigStruct; eight million repeats of one key make
// msgpack presize a map for a million entries. So before a section is
// decoded, an estimator walks its bytes alongside the type it will be
// decoded into and adds up what the decoder will allocate for each value
// (slices, maps, strings, pointed-to values, boxed interface values),
// rounded up the way Go's allocator rounds. A section whose estimate is
// over the budget (Limits.MaxExpansion times its size plus
// Limits.ExpansionSlack) is refused with ErrTooLarge before anything is
// decoded. The writer runs the same estimator over the bytes it writes,
// against the type Load decodes into, and refuses the same saves, so a
// save that was written is never refused by the reader's bound.
//
// The estimate follows msgpack v5.4.1's decoders (slices built whole then
// appended, maps presized to the declared count up to a million entries,
// struct fields matched by name as msgpack matches them, unknown fields
// skipped) and this package's generic decoder (maps grown as keys arrive).
// Types with their own decoding methods are estimated as the generic
// decoder would decode their bytes: what a game's own code allocates is
// the game's to bound.

// budget is the most a section of n bytes may allocate when decoded.
func (l *Limits) budget(n int) int64 {
	return satAdd(satMul(l.MaxExpansion, int64(n)), l.ExpansionSlack)
}

const costCap = 1 << 62

// factor is a multiplier in quarters.
type factor int64

func (f factor) of(x int64) int64 { return satMul(int64(f), x) / 4 }

// What a map's allocations come to, over the room mapBytes gives its
// final size. Measured with Go 1.26's maps by TestAllocEstimateCoversDecoding
// at the sizes where tables split most, with a margin: that test fails
// when a map allocates more than the estimate.
const (
	presizedMapFactor factor = 14 // 3.5x
	grownMapFactor    factor = 18 // 4.5x
)

func satAdd(a, b int64) int64 {
	if a >= costCap-b {
		return costCap
	}
	return a + b
}

func satMul(a, b int64) int64 {
	if a != 0 && b > costCap/a {
		return costCap
	}
	return a * b
}

// alloc is what the Go allocator takes for an object of x bytes: small
// size classes waste at most an eighth, large objects are whole pages.
func alloc(x int64) int64 {
	switch {
	case x <= 0:
		return 0
	case x <= 32<<10:
		return x + x/8 + 8
	}
	return satAdd(x, 8191) &^ 8191
}

// mapBytes is what a Go map made for n entries takes: the map header, and
// groups of eight slots plus eight control bytes at a load of 7/8, in
// tables of at most 1024 slots. indirect is what each entry takes
// outside the slot, for keys or values over 128 bytes.
func mapBytes(n, slot, indirect int64) int64 {
	b := alloc(48)
	switch {
	case n <= 0:
		return b
	case n <= 8:
		return b + alloc(8+8*slot) + n*indirect
	}
	c := int64(16)
	for c < satAdd(n+n/7, 1) && c < costCap/2 {
		c *= 2
	}
	tables := max(1, c/1024)
	per := c / tables
	b = satAdd(b, alloc(8*tables))
	b = satAdd(b, satMul(tables, alloc(48)+alloc(per/8*(8+8*slot))))
	return satAdd(b, satMul(n, indirect))
}

type planKind uint8

const (
	pNone    planKind = iota // numbers, bools, fixed byte arrays, time.Time: nothing allocated
	pString                  // a string: its bytes
	pBytes                   // []byte: its bytes
	pSlice                   // built whole, then appended: twice its length
	pStrings                 // []string: presized to at most a million, then appended
	pArray                   // elements in place
	pMap
	pStruct
	pPtr
	pGeneric // an interface, or a type with its own decoder
)

// plan is what the estimator needs to know of a type.
type plan struct {
	kind planKind
	size int64 // the type's size
	elem *plan // slice, array, pointer elements; map values
	key  *plan // map keys

	slot, indirect int64 // map slot size; bytes per entry outside the slots

	fields  map[string]*fieldPlan // struct fields by every name msgpack matches
	list    []*fieldPlan          // struct fields in msgpack's order, for structs stored as arrays
	maxName int                   // the longest name in fields
}

type fieldPlan struct {
	name  string // the name msgpack writes it under
	p     *plan
	extra int64 // what setting it allocates on the way: an embedded struct behind a nil pointer
	// direct: its name finds it in the plan's fields (no later field took
	// the name), so a key equal to it needs no map lookup.
	direct bool
}

var (
	genericPlan = &plan{kind: pGeneric}
	plans       sync.Map // reflect.Type → *plan

	timeType                    = reflect.TypeFor[time.Time]()
	customDecoderType           = reflect.TypeFor[msgpack.CustomDecoder]()
	unmarshalerType             = reflect.TypeFor[msgpack.Unmarshaler]()
	binaryUnmarshalerType       = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textUnmarshalerType         = reflect.TypeFor[encoding.TextUnmarshaler]()
	rawMessageType              = reflect.TypeFor[msgpack.RawMessage]()
	ownDecoders                 = []reflect.Type{customDecoderType, unmarshalerType, binaryUnmarshalerType, textUnmarshalerType}
	maxTypedMapPresize    int64 = 1e6 // msgpack's cap on the room it makes before reading a map
)

// planFor returns the plan of t; nil means the generic decoder's.
func planFor(t reflect.Type) *plan {
	if t == nil {
		return genericPlan
	}
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	building := map[reflect.Type]*plan{}
	p := buildPlan(t, building)
	for bt, bp := range building {
		plans.LoadOrStore(bt, bp)
	}
	return p
}

// ownDecoder reports whether msgpack decodes t with a method of t's.
func ownDecoder(t reflect.Type) bool {
	if t == timeType {
		return false
	}
	for _, i := range ownDecoders {
		if t.Implements(i) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(i) {
			return true
		}
	}
	return false
}

func buildPlan(t reflect.Type, building map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := building[t]; ok {
		return p // a recursive type: filled in below, before it is used
	}
	p := &plan{size: int64(t.Size())}
	building[t] = p
	switch {
	case t == timeType:
		p.kind = pNone
		return p
	case ownDecoder(t):
		p.kind = pGeneric
		if t.Kind() == reflect.Pointer {
			// msgpack makes the value for a nil pointer, then calls
			// its method: the value, then a generic guess of the rest.
			p.kind = pPtr
			p.elem = &plan{kind: pGeneric, size: int64(t.Elem().Size())}
		}
		return p
	}
	switch t.Kind() {
	case reflect.String:
		p.kind = pString
	case reflect.Slice:
		switch {
		case t.Elem().Kind() == reflect.Uint8:
			p.kind = pBytes
		case t.Elem().Kind() == reflect.String && !ownDecoder(t.Elem()):
			p.kind = pStrings
		default:
			p.kind = pSlice
		}
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Array:
		p.kind = pArray
		if t.Elem().Kind() == reflect.Uint8 {
			p.kind = pNone
		}
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Map:
		p.kind = pMap
		p.key = buildPlan(t.Key(), building)
		p.elem = buildPlan(t.Elem(), building)
		ks, vs := int64(t.Key().Size()), int64(t.Elem().Size())
		// Over 128 bytes, a key or value lives outside its slot; msgpack
		// also makes each one with reflect.New before it is copied in.
		if ks > 128 {
			p.indirect += 2 * alloc(ks)
			ks = 8
		}
		if vs > 128 {
			p.indirect += 2 * alloc(vs)
			vs = 8
		}
		p.slot = (ks+7)&^7 + (vs+7)&^7
	case reflect.Pointer:
		p.kind = pPtr
		p.elem = buildPlan(t.Elem(), building)
	case reflect.Struct:
		p.kind = pStruct
		p.fields = map[string]*fieldPlan{}
		structFields(p, t, nil, 0, building)
		for name := range p.fields {
			p.maxName = max(p.maxName, len(name))
		}
		for _, f := range p.list {
			f.direct = p.fields[f.name] == f
		}
	case reflect.Interface:
		p.kind = pGeneric
	default:
		p.kind = pNone
	}
	return p
}

// structFields adds t's fields to p as msgpack v5.4.1's getFields matches
// them: the tag's name or the field's, "-" skipped, unexported fields
// skipped, embedded structs inlined unless tagged noinline (always when
// tagged inline; otherwise when none of their names is taken already),
// aliases. extra is what reaching t's fields allocates.
func structFields(p *plan, t reflect.Type, index []int, extra int64, building map[reflect.Type]*plan) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts := parseTag(f.Tag.Get("msgpack"))
		if name == "-" {
			continue
		}
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fp := &fieldPlan{name: name, p: buildPlan(f.Type, building), extra: extra}
		if f.Anonymous && !opts["noinline"] {
			inner, innerExtra := f.Type, extra
			for inner.Kind() == reflect.Pointer {
				innerExtra += alloc(int64(inner.Elem().Size()))
				inner = inner.Elem()
			}
			inline := opts["inline"] && inner.Kind() == reflect.Struct
			if !inline && inner.Kind() == reflect.Struct && !ownDecoder(inner) && inner != timeType && !ownDecoder(f.Type) {
				inline = true
				sub := &plan{fields: map[string]*fieldPlan{}}
				structFields(sub, inner, nil, 0, building)
				for n := range sub.fields {
					if _, taken := p.fields[n]; taken {
						inline = false
					}
				}
			}
			if inline {
				structFields(p, inner, append(index, i), innerExtra, building)
				p.fields[name] = fp
				continue
			}
		}
		if _, taken := p.fields[name]; taken && index != nil {
			continue // msgpack does not inline a shadowed field
		}
		p.fields[name] = fp
		p.list = append(p.list, fp)
		if alias := opts["alias"]; alias {
			p.fields[aliasOf(f.Tag.Get("msgpack"))] = fp
		}
	}
}

// parseTag splits a msgpack tag into its name and options.
func parseTag(tag string) (string, map[string]bool) {
	name, rest, _ := strings.Cut(tag, ",")
	opts := map[string]bool{}
	for o := range strings.SplitSeq(rest, ",") {
		k, _, _ := strings.Cut(o, ":")
		if k != "" {
			opts[k] = true
		}
	}
	return name, opts
}

func aliasOf(tag string) string {
	for o := range strings.SplitSeq(tag, ",") {
		if v, ok := strings.CutPrefix(o, "alias:"); ok {
			return v
		}
	}
	return ""
}

// estimator walks a validated document and adds up what decoding it
// allocates. Its bytes come from b, and, when more is set, from the
// chunks more fetches into b as the writer produces them.
type estimator struct {
	b     []byte
	i     int
	more  func() bool
	limit int64 // stop once the total passes it
	total int64
	key   []byte
	err   error

	// longest is the longest string, bin or extension payload: msgpack
	// reads each through its decoder's buffer, which grows by appends
	// past 1 MiB, by appends: six times the payload covers their sum.
	longest uint64
}

// readBuffer adds what msgpack's read buffer takes for the longest payload.
func (e *estimator) readBuffer() {
	if e.err == nil {
		e.add(satMul(6, alloc(int64(min(e.longest, costCap)))))
	}
}

var errOverBudget = fmt.Errorf("over budget")

func (e *estimator) add(x int64) {
	e.total = satAdd(e.total, x)
	if e.total > e.limit && e.err == nil {
		e.err = errOverBudget
	}
}

func (e *estimator) fill() bool {
	for e.i >= len(e.b) {
		if e.err != nil || e.more == nil || !e.more() {
			if e.err == nil {
				e.err = fmt.Errorf("document ends early")
			}
			return false
		}
	}
	return true
}

func (e *estimator) byte() byte {
	if !e.fill() {
		return 0
	}
	c := e.b[e.i]
	e.i++
	return c
}

// skip passes over n payload bytes.
func (e *estimator) skip(n uint64) {
	e.longest = max(e.longest, n)
	for n > 0 && e.fill() {
		k := min(n, uint64(len(e.b)-e.i))
		e.i += int(k)
		n -= k
	}
}

// read appends the next n payload bytes to into.
// name returns the next n bytes, a field name: in place when the buffer
// holds them all, else copied into e.key. Valid until the next read.
func (e *estimator) name(n uint64) []byte {
	if e.fill() && n <= uint64(len(e.b)-e.i) {
		e.longest = max(e.longest, n)
		b := e.b[e.i : e.i+int(n)]
		e.i += int(n)
		return b
	}
	e.key = e.read(n, e.key[:0])
	return e.key
}

func (e *estimator) read(n uint64, into []byte) []byte {
	e.longest = max(e.longest, n)
	for n > 0 && e.fill() {
		k := min(n, uint64(len(e.b)-e.i))
		into = append(into, e.b[e.i:e.i+int(k)]...)
		e.i += int(k)
		n -= k
	}
	return into
}

type tokKind uint8

const (
	tNil tokKind = iota
	tScalar
	tBool
	tStr
	tBin
	tExt
	tArray
	tMap
)

// token reads the next token head: its kind and its count (payload bytes
// of a string, bin or extension; elements of an array; pairs of a map).
// The payload of strings, bins and extensions is left to the caller.
func (e *estimator) token() (tokKind, uint64) {
	var h [9]byte
	h[0] = e.byte()
	n := headLen(h[0])
	for k := 1; k < n; k++ {
		h[k] = e.byte()
	}
	if e.err != nil {
		return tNil, 0
	}
	c := h[0]
	payload, elems := token(h[:n])
	switch {
	case c == 0xc0:
		return tNil, 0
	case c == 0xc2 || c == 0xc3:
		return tBool, 0
	case c >= 0x80 && c <= 0x8f || c == 0xde || c == 0xdf:
		return tMap, elems / 2
	case isContainer(c):
		return tArray, elems
	case c >= 0xa0 && c <= 0xbf || c >= 0xd9 && c <= 0xdb:
		return tStr, payload
	case c >= 0xc4 && c <= 0xc6:
		return tBin, payload
	case isExt(c):
		return tExt, payload
	}
	return tScalar, 0
}

// value estimates the next value, decoded into a value of plan p.
func (e *estimator) value(p *plan) {
	if e.err != nil {
		return
	}
	// Fast path: a scalar or a short string lying whole in b, the bulk
	// of most bodies, decoded into anything but a pointer.
	if e.i < len(e.b) && p.kind != pPtr {
		c := e.b[e.i]
		if sz := int(scalarSize[c]); sz > 0 && sz <= len(e.b)-e.i {
			e.i += sz
			switch {
			case c >= 0xa0 && c <= 0xbf: // fixstr
				e.longest = max(e.longest, uint64(c&0x1f))
				if n := int64(c & 0x1f); p.kind == pString || p.kind == pBytes {
					e.add(alloc(n))
				} else if p.kind == pGeneric {
					e.add(16 + alloc(n))
				}
			case p.kind == pGeneric && c != 0xc0 && c != 0xc2 && c != 0xc3:
				e.add(8)
			}
			return
		}
	}
	k, n := e.token()
	e.decoded(p, k, n)
}

// decoded estimates a value whose token is read, decoded into plan p.
// Where msgpack would fail (a container where p has none), the value is
// counted as the generic decoder would decode it: an upper bound on what
// msgpack allocates before it gives up.
func (e *estimator) decoded(p *plan, k tokKind, n uint64) {
	if p.kind == pGeneric {
		e.generic(k, n)
		return
	}
	if p.kind == pPtr {
		if k != tNil {
			// msgpack makes the pointed-to value, then decodes into it.
			e.add(alloc(p.elem.size))
			e.decoded(p.elem, k, n)
		}
		return
	}
	switch k {
	case tNil, tScalar, tBool:
		return
	case tStr, tBin, tExt:
		e.skip(n)
		if k != tExt && (p.kind == pString || p.kind == pBytes) {
			e.add(alloc(int64(n)))
		}
		return
	}
	switch {
	case k == tArray && (p.kind == pSlice || p.kind == pBytes || p.kind == pStrings):
		if n > 0 {
			// msgpack makes the whole slice, then appends it to the
			// empty one: two allocations of it. []string is presized
			// to at most a million and grows by append beyond that.
			grow := int64(2)
			if p.kind == pStrings && n > uint64(maxTypedMapPresize) {
				grow = 7 // appends growing by 1.25x sum to about 6x the final size
			}
			e.add(satMul(grow, alloc(satMul(int64(n), p.elem.size))))
		}
		for range n {
			if e.err != nil {
				return
			}
			e.value(p.elem)
		}
	case k == tArray && p.kind == pArray:
		for range n {
			if e.err != nil {
				return
			}
			e.value(p.elem)
		}
	case k == tMap && p.kind == pMap:
		// msgpack presizes the map for the declared count (up to a
		// million): the room a load of 7/8 needs. Keys do not spread
		// evenly over its tables of 1024 slots, so the tables that fill
		// first split, each into two new ones: up to three times the
		// room when every table splits (the estimate takes 3.5, for a map
		// filled to 7/8). Past a million it grows as the walker's do.
		m := int64(n)
		e.add(presizedMapFactor.of(mapBytes(min(m, maxTypedMapPresize), p.slot, 0)))
		e.add(satMul(m, p.indirect))
		if m > maxTypedMapPresize {
			e.add(grownMapFactor.of(mapBytes(m, p.slot, 0)))
		}
		for range n {
			if e.err != nil {
				return
			}
			e.value(p.key)
			e.value(p.elem)
		}
	case p.kind == pStruct:
		e.structValue(p, k, n)
	default:
		e.generic(k, n)
	}
}

// structValue estimates a struct stored as a map (fields by name, unknown
// names skipped) or as an array (fields in order).
func (e *estimator) structValue(p *plan, k tokKind, n uint64) {
	if k == tArray {
		for i := range n {
			if e.err != nil {
				return
			}
			if i < uint64(len(p.list)) {
				e.add(p.list[i].extra)
				e.value(p.list[i].p)
			} else {
				e.value(genericPlan)
			}
		}
		return
	}
	for i := range n {
		if e.err != nil {
			return
		}
		kk, kn := e.token()
		var f *fieldPlan
		switch kk {
		case tStr, tBin:
			if kn <= uint64(p.maxName) {
				key := e.name(kn)
				// The writer puts fields in their order: try the i-th first.
				if i < uint64(len(p.list)) && p.list[i].direct && p.list[i].name == string(key) {
					f = p.list[i]
				} else {
					f = p.fields[string(key)]
				}
			} else {
				e.skip(kn)
			}
		default:
			e.generic(kk, kn) // not a name: msgpack fails here
		}
		if f == nil {
			e.skipValue()
			continue
		}
		e.add(f.extra)
		e.value(f.p)
	}
}

// skipValue passes over the next value, which nothing is decoded from.
func (e *estimator) skipValue() {
	for left := uint64(1); left > 0 && e.err == nil; left-- {
		k, n := e.token()
		switch k {
		case tStr, tBin, tExt:
			e.skip(n)
		case tArray:
			left += n
		case tMap:
			left += 2 * n
		}
	}
}

// generic estimates a value, whose token is read, decoded with no type:
// numbers, strings of two bytes or more, bins and times boxed in
// interfaces; arrays as []any; maps by the generic decoder, which grows
// each map as its keys arrive (to up to twice the room of its final size)
// and again when a non-string key turns a map[string]any into a
// map[any]any.
func (e *estimator) generic(k tokKind, n uint64) {
	switch k {
	case tNil, tBool:
	case tScalar:
		e.add(8)
	case tStr:
		// Boxed: the walker shares one-byte strings, msgpack's
		// DecodeInterface (a typed []any) does not.
		e.skip(n)
		e.add(16 + alloc(int64(n)))
	case tBin:
		e.skip(n)
		e.add(24 + alloc(int64(n)))
	case tExt:
		e.skip(n) // a time.Time made, then boxed
		e.add(2 * alloc(24))
	case tArray:
		e.add(24 + alloc(satMul(int64(n), 16)))
		for range n {
			if e.err != nil {
				return
			}
			e.value(genericPlan)
		}
	case tMap:
		// The walker's maps start with room for eight and grow, leaving
		// each smaller table behind, then splitting full ones: the
		// estimate takes 4.5 times the room of the final size.
		room := mapBytes(int64(n), 32, 0)
		if n > genericMapHint {
			room = grownMapFactor.of(room)
		}
		e.add(room)
		anyKeys := false // a map[any]any, whose string keys are boxed
		for i := range n {
			if e.err != nil {
				return
			}
			kk, kn := e.token()
			if kk != tStr && !anyKeys {
				anyKeys = true
				if i > 0 {
					e.add(satAdd(room, satMul(int64(i), 16)))
				}
			}
			switch {
			case kk == tStr || kk == tBin:
				// A string key's bytes are its own unless it is one
				// byte or empty, and it is boxed as the walker reads it.
				e.skip(kn)
				if kn > 1 || kk == tBin {
					e.add(alloc(int64(kn)))
				}
				e.add(16)
			default:
				e.generic(kk, kn)
			}
			e.value(genericPlan)
		}
	}
}

// estimate returns what decoding doc into a value of plan p allocates,
// stopping early past limit, with errOverBudget.
func estimate(doc []byte, p *plan, limit int64) (int64, error) {
	e := estimator{b: doc, limit: limit}
	e.value(p)
	e.readBuffer()
	return e.total, e.err
}

// checkBudget refuses doc (the section what, at file offset base) when
// decoding it into a value of plan p would allocate more than l allows.
func checkBudget(what string, base int64, doc []byte, p *plan, into string, l *Limits) error {
	if len(doc) == 0 {
		return nil
	}
	limit := l.budget(len(doc))
	total, err := estimate(doc, p, limit)
	if err == errOverBudget {
		return budgetError(what, base, into, total, len(doc), l)
	}
	return err
}

func budgetError(what string, base int64, into string, total int64, n int, l *Limits) error {
	return errorf(ErrTooLarge, what, base,
		"decoding its %d bytes into %s would allocate at least %d bytes, more than the limit of %d (Limits.MaxExpansion %d times its size plus Limits.ExpansionSlack %d)",
		n, into, total, l.budget(n), l.MaxExpansion, l.ExpansionSlack)
}

// typeName names a decode target for errors.
func typeName(t reflect.Type) string {
	if t == nil {
		return "any"
	}
	return t.String()
}

// streamEstimate runs the estimator over a document that arrives in
// chunks, as Encode writes it: the estimator runs as a coroutine that
// each chunk resumes.
type streamEstimate struct {
	e     estimator
	next  func() (struct{}, bool)
	end   func()
	chunk []byte
	ended bool
}

func (s *streamEstimate) start(p *plan, limit int64) {
	s.e = estimator{limit: limit}
	s.ended, s.chunk = false, nil
	s.next, s.end = iter.Pull(func(yield func(struct{}) bool) {
		s.e.more = func() bool {
			if s.chunk == nil && (!yield(struct{}{}) || s.chunk == nil) {
				return false
			}
			s.e.b, s.e.i, s.chunk = s.chunk, 0, nil
			return true
		}
		s.e.value(p)
		s.e.readBuffer()
		s.ended = true
	})
}

// write hands the estimator the next chunk of the document; it is
// consumed before write returns.
func (s *streamEstimate) write(p []byte) {
	if s.ended || len(p) == 0 {
		return
	}
	s.chunk = p
	s.next()
}

// finish ends the document and returns the estimate: errOverBudget when
// it passed the limit, another error when the document was incomplete.
func (s *streamEstimate) finish() (int64, error) {
	if !s.ended {
		s.chunk = nil
		s.next() // more() returns false: the estimator unwinds
	}
	s.stop()
	return s.e.total, s.e.err
}

// stop releases the coroutine; it may be called more than once.
func (s *streamEstimate) stop() {
	if s.end != nil {
		s.end()
		s.end, s.next = nil, nil
	}
}
