//go:build race

package format

// raceEnabled: the race detector changes what msgpack's reflection
// allocates, so the typed allocation bounds are only checked without it.
const raceEnabled = true
