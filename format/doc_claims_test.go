package format

import (
	"errors"
	"io"
	"testing"
	"time"

	"github.com/savekit/savekit/format/msgjson"
	"github.com/zeebo/xxh3"
)

// TestFormatPageClaims checks what docs/format.md states about edge
// values, so the page and the code cannot drift apart.
func TestFormatPageClaims(t *testing.T) {
	// Empty metadata is legal, with the checksum the page quotes.
	if got := xxh3.Hash(nil); got != 0x2d06800538d394c2 {
		t.Errorf("XXH3-64 of no bytes is %#x", got)
	}
	f, err := Parse(rawFile(nil, []byte{0x01}), nil)
	if err != nil {
		t.Fatalf("empty metadata: %v", err)
	}
	if m, err := f.DecodeMeta(); err != nil || m == nil || len(m) != 0 {
		t.Errorf("empty metadata decodes as %v, %v", m, err)
	}
	// An empty body is malformed.
	if _, err := Parse(rawFile([]byte{0x80}, nil), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty body: %v, want ErrMalformed", err)
	}
	// The metadata map's own keys must be strings: valid structure, but
	// DecodeMeta refuses it.
	f, err = Parse(rawFile([]byte{0x81, 0x01, 0x02}, []byte{0xc0}), nil)
	if err != nil {
		t.Fatalf("int-keyed metadata failed the structure check: %v", err)
	}
	if _, err := f.DecodeMeta(); !errors.Is(err, ErrMalformed) {
		t.Errorf("int-keyed metadata: %v, want ErrMalformed", err)
	}
	// A negative created time is valid.
	before := time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)
	b, _, err := Marshal(Params{Created: before}, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f, err := Parse(b, nil); err != nil || !f.Header.Created.Equal(before) {
		t.Errorf("created before 1970: %v", err)
	}
	// A timestamp whose nanoseconds exceed 999,999,999 is accepted and
	// carried into the seconds.
	ts := []byte{0xc7, 12, 0xff, 0x3b, 0x9a, 0xca, 0x00, 0, 0, 0, 0, 0, 0, 0, 5} // 1e9 ns, 5 s
	f, err = Parse(rawFile([]byte{0x80}, ts), nil)
	if err != nil {
		t.Fatalf("timestamp with 1e9 ns: %v", err)
	}
	var tm time.Time
	if err := f.Decode(&tm); err != nil || tm.Unix() != 6 || tm.Nanosecond() != 0 {
		t.Errorf("typed: %v %v, want 6 s", tm, err)
	}
	if g, err := f.DecodeGeneric(); err != nil || g.(time.Time).Unix() != 6 {
		t.Errorf("generic: %v %v, want 6 s", g, err)
	}
	// msgjson's allocation is the fixed amount the page quotes.
	big := array32(1<<20, []byte{0x91, 0x90})
	if grew := allocated(func() { _ = msgjson.ToJSON(io.Discard, big) }); grew > 80<<10 {
		t.Errorf("ToJSON allocated %d bytes, the page says about 70 KiB", grew)
	}
}
