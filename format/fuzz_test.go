package format

import (
	"bytes"
	"errors"
	"testing"
)

// Fuzzing: go test ./format -run '^$' -fuzz FuzzParseDecode -fuzztime 5m
// (likewise FuzzParseHeader, FuzzValidate). docs/format.md records the runs.

func FuzzParseHeader(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *format.Error", err)
			}
			return
		}
		// A header that parses re-encodes to the same bytes (version 1
		// length) and reads back the same through ReadHeader.
		if h.HeaderLen == HeaderSize {
			enc, _ := h.AppendBinary(nil)
			if !bytes.Equal(enc, b[:HeaderSize]) {
				t.Fatalf("re-encoded header differs:\n% x\n% x", enc, b[:HeaderSize])
			}
		}
		h2, err := ReadHeader(bytes.NewReader(b))
		if err != nil || h2 != h {
			t.Fatalf("ReadHeader disagrees: %v", err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		if len(s) > HeaderSize {
			f.Add(s[HeaderSize:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var whole validator
		errWhole := validateWhole("body", 0, b, 32, &whole)
		// Any chunking gives the same verdict.
		var s validator
		s.reset("body", 0, -1, 32)
		var errStream error
		for i := 0; i < len(b) && errStream == nil; i += 3 {
			_, errStream = s.Write(b[i:min(i+3, len(b))])
		}
		if errStream == nil {
			errStream = s.Close()
		}
		if (errWhole == nil) != (errStream == nil) {
			t.Fatalf("whole: %v, streamed: %v", errWhole, errStream)
		}
		if errWhole != nil {
			if !errors.Is(errWhole, ErrMalformed) {
				t.Fatalf("%v is not ErrMalformed", errWhole)
			}
			return
		}
		// What the validator accepts, msgpack may decode into anything
		// without panicking or allocating beyond the document's size.
		file := &File{Body: b, verified: true, bodyGuards: whole.guards}
		var w testWorld
		_ = file.Decode(&w)
		var m map[string]any
		_ = file.Decode(&m)
		var sl []int
		_ = file.Decode(&sl)
		_, _ = file.DecodeGeneric()
	})
}

func FuzzParseDecode(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b, &Limits{MaxDepth: 64})
		_, verr := Verify(bytes.NewReader(b), int64(len(b)), &Limits{MaxDepth: 64})
		if (err == nil) != (verr == nil) {
			t.Fatalf("Parse: %v, Verify: %v", err, verr)
		}
		_, _, merr := ReadMeta(bytes.NewReader(b), int64(len(b)), &Limits{MaxDepth: 64})
		if err == nil && merr != nil && !errors.Is(merr, ErrMalformed) {
			t.Fatalf("Parse accepted, ReadMeta: %v", merr)
		}
		if err != nil {
			return
		}
		var w testWorld
		_ = file.Decode(&w)
		var g goldenWorld
		_ = file.Decode(&g)
		_, _ = file.DecodeGeneric()
		_, _ = file.DecodeMeta()
	})
}
