package format

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestValidatorChunking checks that the streaming validator gives the same
// verdict whatever the chunk boundaries, on valid and damaged documents.
func TestValidatorChunking(t *testing.T) {
	docs := [][]byte{}
	for _, v := range []any{
		sortableWorld(1, 16<<10),
		map[string]any{"a": []any{1, "x", 2.5, nil, true, []byte("bin")}, "t": time.Unix(1, 2)},
		int64(-1 << 40), float32(1.5), "s", []any{}, map[string]any{},
	} {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		doc := append([]byte(nil), docs[i%len(docs)]...)
		if i%3 == 1 && len(doc) > 1 {
			doc[r.IntN(len(doc))] ^= byte(1 + r.IntN(255))
		}
		if i%3 == 2 {
			doc = doc[:r.IntN(len(doc)+1)]
		}
		var whole validator
		errWhole := validateWhole("body", 0, doc, 64, &whole)
		// Streaming without the total length: only the element-count
		// check is lost, the verdict on validity must agree.
		var s validator
		s.reset("body", 0, -1, 64)
		var errStream error
		for rest := doc; len(rest) > 0 && errStream == nil; {
			k := min(len(rest), 1+r.IntN(7))
			_, errStream = s.Write(rest[:k])
			rest = rest[k:]
		}
		if errStream == nil {
			errStream = s.Close()
		}
		if (errWhole == nil) != (errStream == nil) {
			t.Fatalf("doc %d: whole %v, streamed %v", i, errWhole, errStream)
		}
		if errWhole != nil && !errors.Is(errWhole, ErrMalformed) {
			t.Fatalf("doc %d: %v is not ErrMalformed", i, errWhole)
		}
		if i%3 == 0 && errWhole != nil {
			t.Fatalf("valid doc %d rejected: %v", i, errWhole)
		}
	}
}

func TestValidatorDepth(t *testing.T) {
	doc := func(depth int) []byte {
		b := make([]byte, 0, depth+1)
		for range depth - 1 {
			b = append(b, 0x91)
		}
		return append(b, 0x90) // the innermost container is empty
	}
	var v validator
	if err := validateWhole("body", 0, doc(256), 256, &v); err != nil {
		t.Fatalf("depth 256 at limit 256: %v", err)
	}
	if err := validateWhole("body", 0, doc(257), 256, &v); !errors.Is(err, ErrMalformed) {
		t.Fatalf("depth 257 at limit 256: %v", err)
	}
}
