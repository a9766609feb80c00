//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The lab boots a Linux guest under qemu and drives it from a Linux host.
func main() {
	fmt.Fprintln(os.Stderr, "powercut: the power-cut lab runs on Linux only")
	os.Exit(2)
}
