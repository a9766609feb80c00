package format

// Limits bound what a reader accepts and a writer produces. A writer uses the
// same limits as the reader, so it never writes a save the reader would
// reject. The zero value of a field means its default.
type Limits struct {
	// MaxMeta is the largest metadata section, in bytes. Default 4 MiB
	// (room for a thumbnail).
	MaxMeta int64
	// MaxBody is the largest body, in bytes. Default 1 GiB.
	MaxBody int64
	// MaxDepth is the deepest nesting of arrays and maps, counting the
	// outermost container as 1. Default 256.
	MaxDepth int
}

// Defaults for Limits.
const (
	DefaultMaxMeta  = 4 << 20
	DefaultMaxBody  = 1 << 30
	DefaultMaxDepth = 256
)

// resolve returns l with defaults filled in; l may be nil.
func (l *Limits) resolve() Limits {
	var r Limits
	if l != nil {
		r = *l
	}
	if r.MaxMeta <= 0 {
		r.MaxMeta = DefaultMaxMeta
	}
	if r.MaxBody <= 0 {
		r.MaxBody = DefaultMaxBody
	}
	if r.MaxDepth <= 0 {
		r.MaxDepth = DefaultMaxDepth
	}
	return r
}
