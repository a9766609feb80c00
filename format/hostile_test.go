package format

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
)

// hostileBodies are msgpack documents that make msgpack v5.4.1 allocate what
// they declare, or recurse without bound, if it ever sees them.
func hostileBodies() map[string][]byte {
	nested := bytes.Repeat([]byte{0x91}, 3<<20) // 3 MB of one-element arrays
	nested = append(nested, 0x90)
	return map[string][]byte{
		"array32 of 2^32-1":      {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03},
		"map32 of 2^32-1":        {0xdf, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02, 0x03},
		"array16 of 65535":       {0xdc, 0xff, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05},
		"bin32 of 4 GiB":         {0xc6, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00},
		"str32 of 4 GiB":         {0xdb, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00},
		"ext32 of 4 GiB":         {0xc9, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00},
		"array in a map value":   {0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00},
		"3 MB of nested arrays":  nested,
		"custom ext hiding map":  {0xc7, 0x05, 0x07, 0xdf, 0xff, 0xff, 0xff, 0xff},
		"map in struct field":    {0x81, 0xa1, 'M', 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00},
		"slice in struct field":  {0x81, 0xa1, 'A', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x00},
		"bin in struct field":    {0x81, 0xa1, 'B', 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00},
		"nested in struct field": append([]byte{0x81, 0xa1, 'V'}, nested...),
	}
}

type hostileTarget struct {
	A []int
	M map[string]any
	V any
	B []byte
}

// TestHostileBodies feeds each crafted body, inside a file whose checksums
// are correct, to every decode target, and asserts an error with bounded
// allocation. Without the validator several of these kill the process with
// a fatal out-of-memory or stack overflow, so this test fails by crashing.
func TestHostileBodies(t *testing.T) {
	targets := map[string]func() any{
		"interface{}":    func() any { return new(any) },
		"[]int":          func() any { return new([]int) },
		"map[string]any": func() any { return new(map[string]any) },
		"struct":         func() any { return new(hostileTarget) },
	}
	const bound = 64 << 20
	for name, body := range hostileBodies() {
		file := rawFile([]byte{0x80}, body)
		for tname, target := range targets {
			t.Run(name+"/"+tname, func(t *testing.T) {
				grew := allocated(func() {
					f, err := Parse(file, nil)
					if err == nil {
						err = f.Decode(target())
					}
					if !errors.Is(err, ErrMalformed) {
						t.Errorf("got %v, want ErrMalformed", err)
					}
				})
				if grew > bound {
					t.Errorf("allocated %d MiB, bound %d MiB", grew>>20, bound>>20)
				}
			})
		}
		t.Run(name+"/generic", func(t *testing.T) {
			grew := allocated(func() {
				f, err := Parse(file, nil)
				if err == nil {
					_, err = f.DecodeGeneric()
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("got %v, want ErrMalformed", err)
				}
			})
			if grew > bound {
				t.Errorf("allocated %d MiB, bound %d MiB", grew>>20, bound>>20)
			}
		})
	}
}

// TestHostileMetadata puts the same bodies in the metadata section, which
// load menus decode without the body.
func TestHostileMetadata(t *testing.T) {
	for name, body := range hostileBodies() {
		meta := body
		if meta[0] != 0x81 && meta[0] != 0xdf {
			meta = append([]byte{0x81, 0xa1, 'x'}, body...)
		}
		file := rawFile(meta, []byte{0xc0})
		t.Run(name, func(t *testing.T) {
			grew := allocated(func() {
				_, _, err := ReadMeta(bytes.NewReader(file), int64(len(file)), nil)
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("got %v, want ErrMalformed", err)
				}
			})
			if grew > 64<<20 {
				t.Errorf("allocated %d MiB", grew>>20)
			}
		})
	}
}

// TestHostileLengthsInHeader declares lengths far beyond the file: readers
// must refuse before allocating for them.
func TestHostileLengthsInHeader(t *testing.T) {
	good, _, _ := Marshal(Params{}, 1, nil)
	for _, c := range []struct {
		name    string
		metaLen uint32
		bodyLen uint64
		want    error
	}{
		{"body 2^63", 0, 1 << 63, ErrTooLarge},
		{"body just under the limit", 1, DefaultMaxBody, ErrTruncated},
		{"meta 2^32-1", 1<<32 - 1, 1, ErrTooLarge},
	} {
		b := append([]byte(nil), good...)
		putLE32(b[offMetaLen:], c.metaLen)
		putLE64(b[offBodyLen:], c.bodyLen)
		fixHeaderSum(b)
		grew := allocated(func() {
			for _, err := range []error{
				second(Read(bytes.NewReader(b), int64(len(b)), nil)),
				second(Verify(bytes.NewReader(b), int64(len(b)), nil)),
				third(ReadMeta(bytes.NewReader(b), int64(len(b)), nil)),
			} {
				if !errors.Is(err, c.want) {
					t.Errorf("%s: got %v, want %v", c.name, err, c.want)
				}
			}
		})
		if grew > 1<<20 {
			t.Errorf("%s: allocated %d bytes before refusing", c.name, grew)
		}
	}
}

func second[A, B any](_ A, b B) B        { return b }
func third[A, B, C any](_ A, _ B, c C) C { return c }

func putLE32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func putLE64(b []byte, v uint64) {
	putLE32(b, uint32(v))
	putLE32(b[4:], uint32(v>>32))
}

// allocated returns the bytes allocated on the heap while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestTimestampExtDecodedAsMap covers the one way an allowed extension
// reaches msgpack's container decoding: DecodeMapLen skips an extension
// header and reads its payload as a map. The payload is a valid timestamp
// whose bytes also read as map32 of 2^32-1; msgpack caps map preallocation
// at 1e6 entries, and the bound must hold.
func TestTimestampExtDecodedAsMap(t *testing.T) {
	body := []byte{0x81, 0xa1, 'M', 0xd7, 0xff, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00}
	file := rawFile([]byte{0x80}, body)
	f, err := Parse(file, nil)
	if err != nil {
		t.Fatalf("a valid timestamp was refused: %v", err)
	}
	grew := allocated(func() {
		var v hostileTarget
		if err := f.Decode(&v); !errors.Is(err, ErrMalformed) {
			t.Errorf("got %v, want ErrMalformed", err)
		}
	})
	t.Logf("allocated %d MiB", grew>>20)
	if grew > 64<<20 {
		t.Errorf("allocated %d MiB", grew>>20)
	}
}

// TestDecoderPanicIsAnError: msgpack v5.4.1 panics when a nil is decoded
// into a time.Time field (found by FuzzValidate). A save must not crash the
// game that loads it.
func TestDecoderPanicIsAnError(t *testing.T) {
	body := append([]byte{0x81, 0xa7}, "Started"...)
	body = append(body, 0xc0)
	f, err := Parse(rawFile([]byte{0x80}, body), nil)
	if err != nil {
		t.Fatal(err)
	}
	var w testWorld
	if err := f.Decode(&w); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
	meta := []byte{0x81, 0xa1, 't', 0xc0}
	if _, err := (&File{Meta: meta, Body: []byte{0xc0}}).DecodeMeta(); err != nil {
		t.Fatalf("nil metadata value: %v", err)
	}
}

// TestDecodeStartsNoGoroutine: decoding must not leave goroutines behind.
// msgpack's UsePreallocateValues would start one per pointer type it
// allocates, forever; the types here are decoded by no other test.
func TestDecodeStartsNoGoroutine(t *testing.T) {
	type leaf struct{ N int }
	type holder struct {
		P *leaf
		Q *int
	}
	n := 7
	b, _, err := Marshal(Params{}, holder{P: &leaf{N: 1}, Q: &n}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	for range 3 {
		f, err := Parse(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		var h holder
		if err := f.Decode(&h); err != nil || h.P == nil || h.P.N != 1 || *h.Q != 7 {
			t.Fatalf("decoded %+v, %v", h, err)
		}
	}
	if after := runtime.NumGoroutine(); after != before {
		t.Fatalf("goroutines: %d before decoding, %d after", before, after)
	}
}

// TestExtPayloadNeverReadAsTokens: a timestamp where the type has a map.
// msgpack skips the extension's header and reads its payload as the map
// header; a payload starting with a fixmap code (a valid timestamp) then
// had msgpack read the rest of the payload as fresh tokens, a declared
// array of a million elements among them, which the validator never saw
// as a count. Every extension payload is now guarded.
func TestExtPayloadNeverReadAsTokens(t *testing.T) {
	for _, c := range []struct {
		body   []byte
		target func() any
	}{
		{[]byte{0xd7, 0xff, 0x81, 0x01, 0xdd, 0x00, 0x10, 0x00, 0x00, 0x00}, func() any { return new(map[int][]int64) }},
		{[]byte{0xd7, 0xff, 0x81, 0xa1, 'k', 0xc6, 0x01, 0x00, 0x00, 0x00}, func() any { return new(map[string][]byte) }},
		{[]byte{0xd7, 0xff, 0xc0, 0xdd, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00}, func() any { return new(map[int]int) }},
	} {
		f, err := Parse(rawFile([]byte{0x80}, c.body), nil)
		if err != nil {
			t.Fatalf("% x: a valid timestamp was refused: %v", c.body, err)
		}
		var derr error
		grew := allocated(func() { derr = f.Decode(c.target()) })
		if derr == nil {
			t.Errorf("% x decoded into %T", c.body, c.target())
		}
		if grew > 1<<20 {
			t.Errorf("% x into %T: allocated %d bytes", c.body, c.target(), grew)
		}
	}
}
