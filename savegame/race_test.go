//go:build race

package savegame

// raceDetector is true when tests run with -race.
const raceDetector = true
