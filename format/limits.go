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
	// MaxExpansion and ExpansionSlack bound the memory that decoding a
	// section (the metadata, or the body into the game's type) may
	// allocate: at most MaxExpansion times the section's size plus
	// ExpansionSlack bytes, as estimated from the section's bytes and
	// the type it is decoded into (docs/format.md, "Decoding allocation").
	// A reader refuses a section over the bound with ErrTooLarge before
	// it decodes anything, and a writer refuses to write one, so every
	// save written under these limits is decoded under them. Defaults 8
	// and 64 MiB.
	MaxExpansion   int64
	ExpansionSlack int64
}

// Defaults for Limits.
const (
	DefaultMaxMeta  = 4 << 20
	DefaultMaxBody  = 1 << 30
	DefaultMaxDepth = 256

	DefaultMaxExpansion   = 8
	DefaultExpansionSlack = 64 << 20
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
	if r.MaxExpansion <= 0 {
		r.MaxExpansion = DefaultMaxExpansion
	}
	if r.ExpansionSlack <= 0 {
		r.ExpansionSlack = DefaultExpansionSlack
	}
	return r
}
