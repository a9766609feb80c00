// Package format reads and writes savekit save files: one save per file, a
// versioned, checksummed container around a msgpack body.
//
// A save file is a little-endian header (HeaderSize bytes in version 1:
// magic "SAVEKIT\x1a", container version, generation, schema, creation
// time, the lengths of the two sections, an xxh3-128 checksum of both, one
// of the metadata alone, and a checksum of the header itself), then the
// metadata section (a small msgpack map a load menu reads without the
// body: title, play time, a thumbnail), then the body (the game's world,
// msgpack). docs/format.md specifies every byte, with a worked
// hex dump.
//
// Writing: Encode streams a body into an io.WriterAt (hashing and
// validating it on the way) and writes the header last, so a crash
// mid-write leaves a file every reader refuses; EncodeFunc is Encode as the
// write callback a slot store's commit takes; Marshal builds a file in
// memory, for tools and tests.
//
// Reading: Read and Parse check the header, both checksums and the
// structure of both sections before anything is decoded, and refuse with
// an *Error that names the section and offset and matches one of ErrNotSave,
// ErrVersion, ErrTruncated, ErrChecksum, ErrTooLarge or ErrMalformed.
// File.Decode then decodes the body into the game's type, and DecodeMeta
// and DecodeGeneric decode without one, all within Limits: the size and
// nesting of each section and the memory decoding it may allocate, which a
// writer respects too, so every file written under some limits is read
// under them. ReadHeader and ReadMeta read only the front of a file.
//
// Corrupt, truncated or hostile files get an error, never a panic, a hang
// or an allocation out of proportion to the file.
package format
