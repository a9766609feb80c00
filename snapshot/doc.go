// Package snapshot copies a game's world on the game thread, deeply enough
// that the copy can be encoded on another goroutine while the game goes on
// changing the original.
//
// For each type, a copy plan is built once (For, or Check at start-up) and
// cached, so an uncopyable type fails when the game starts, not mid-game,
// with the path of the offending field. The plan copies:
//
//   - values with no slices, maps, pointers or interfaces inside (numbers,
//     strings, arrays and structs of them) in one typed move: strings are
//     immutable and shared;
//   - slices with one bulk copy of their elements, then a deep copy of only
//     the element fields that need one;
//   - maps, pointers and interfaces (by their dynamic type, planned when
//     first met) into new memory;
//   - values of a type with a method SnapshotCopy() T by calling it.
//
// What the plan refuses, at For: channels, funcs and unsafe pointers in
// fields msgpack would encode, and types whose msgpack encoding runs the
// type's own code (msgpack.CustomEncoder, msgpack.Marshaler,
// encoding.BinaryMarshaler, encoding.TextMarshaler) when they hold any
// pointer: the copy cannot prove that code reads only copied memory. Give
// such a type a SnapshotCopy method, or encode on the caller instead
// (savegame's EncodeOnCaller option). time.Time is copied by value.
//
// Fields msgpack never encodes (unexported, not embedded, or tagged
// `msgpack:"-"`) are copied shallowly: sharing them is harmless, since the
// encoder never reads them.
//
// A value nested deeper than 1024 levels (a cycle of pointers, for one) is
// an error from Copy, not a hang.
package snapshot
