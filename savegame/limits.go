package savegame

import "github.com/savekit/savekit/format"

// Limits bound the size and nesting of saves, and the memory decoding one
// may take. The zero value of a field means its default. A store writes
// only saves it can read back under its limits, so a game that raises
// them must open the store with the same limits to load those saves.
type Limits struct {
	// MaxMeta is the largest metadata, in bytes encoded. Default 4 MiB
	// (room for a thumbnail).
	MaxMeta int64
	// MaxBody is the largest world, in bytes encoded. Default 1 GiB.
	MaxBody int64
	// MaxDepth is the deepest nesting of slices, arrays, maps and structs
	// encoded as maps, counting the outermost as 1. Default 256.
	MaxDepth int
	// MaxExpansion and ExpansionSlack bound the memory that decoding the
	// metadata, or the world, may allocate: at most MaxExpansion times its
	// encoded size plus ExpansionSlack bytes. Defaults 8 and 64 MiB.
	MaxExpansion   int64
	ExpansionSlack int64
}

// format is l as package format takes it; nil for nil.
func (l *Limits) format() *format.Limits {
	if l == nil {
		return nil
	}
	return &format.Limits{MaxMeta: l.MaxMeta, MaxBody: l.MaxBody, MaxDepth: l.MaxDepth,
		MaxExpansion: l.MaxExpansion, ExpansionSlack: l.ExpansionSlack}
}

// depth is the nesting limit l sets, or format's default.
func (l *Limits) depth() int {
	if l == nil || l.MaxDepth <= 0 {
		return format.DefaultMaxDepth
	}
	return l.MaxDepth
}
