package format

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns for a bad file wraps
// exactly one of them, so callers branch with errors.Is and show the message,
// which names the field and the byte offset.
var (
	// ErrNotSave: the bytes do not start with the savekit magic.
	ErrNotSave = errors.New("not a savekit save file")
	// ErrVersion: a container version or flag this package does not know.
	ErrVersion = errors.New("unsupported container version")
	// ErrTruncated: the file ends before the lengths in its header say.
	ErrTruncated = errors.New("truncated")
	// ErrChecksum: a stored checksum does not match the bytes it covers.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrTooLarge: a declared length is beyond the configured Limits.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed: the checksums hold but the content is not a valid
	// container or msgpack document (bad lengths, nesting beyond
	// Limits.MaxDepth, trailing bytes, a value that does not decode).
	ErrMalformed = errors.New("malformed")
)

// Error describes what is wrong with a save file and where.
type Error struct {
	Field  string // the part of the file: "magic", "header checksum", "body", ...
	Offset int64  // byte offset in the file of the problem, or -1 when there is none
	Detail string // what was found, for people
	Err    error  // one of the sentinel errors above
}

func (e *Error) Error() string {
	msg := "format: " + e.Field
	if e.Offset >= 0 {
		msg += fmt.Sprintf(" at offset %d", e.Offset)
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the sentinel error, for errors.Is.
func (e *Error) Unwrap() error { return e.Err }

func errorf(sentinel error, field string, offset int64, format string, args ...any) *Error {
	return &Error{Field: field, Offset: offset, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}
