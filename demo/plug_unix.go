//go:build unix

package main

import (
	"syscall"
)

// pullThePlug starts a save and kills the game with SIGKILL while it is in
// flight: no deferred call, no flush, no goodbye. The next start shows
// what survived.
func pullThePlug(g *game) {
	g.quickSave()
	syscall.Kill(syscall.Getpid(), syscall.SIGKILL)
}
