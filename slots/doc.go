// Package slots stores game saves so that a crash or a power cut never
// loses an acknowledged one.
//
// A Store is a directory. Each slot name has two slot files, NAME.0.sav and
// NAME.1.sav, each holding one container (package format), and a pointer,
// NAME.ptr, naming the one that holds the committed save. Commit writes the
// new save into the slot file that does not hold the save Load would
// return, rewrites the pointer, and flushes both; it returns only once both
// are durable. A power cut at any instant leaves the last acknowledged save,
// or the one being committed if it completed, loadable: every state the
// crash model of package vfs allows has been checked (crash_test.go).
//
// Load returns the committed save, verified; if it is damaged, the other
// slot's save with Info.Recovered and the reason. Load never writes. List
// describes every slot from headers and metadata alone, for load menus.
//
// Guarantees hold as far as the disk honours flushes: see
// docs/durability.md for what Linux, macOS and Windows provide and where no
// protocol can help (drives that acknowledge a flush and lose the data).
//
// A Store holds its directory's lock: a second process gets ErrLocked,
// while reading the files directly (the modding CLI) stays safe.
package slots
