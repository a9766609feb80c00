// Package vfs is the only place savekit touches the operating system's file
// system, and the place that lets it be tested without a real crash.
//
// FS is a narrow interface: open without following symbolic links, write at
// an offset, truncate, fsync and fdatasync, atomic rename, directory sync, a
// non-blocking cross-process lock. Four implementations:
//
//   - OS, the real file system, with each platform's strongest durability
//     call (see below).
//   - CrashFS, an in-memory file system that models a power cut: data is
//     volatile until the file is synced, creations, renames and removals
//     until their directory is synced. It records every operation and can
//     produce every distinct state a power cut could leave at any point
//     (exhaustively while small, sampled beyond a bound), including writes
//     torn at 512-byte sectors.
//   - FaultFS, which wraps any FS and fails chosen operations with ENOSPC,
//     EIO, EACCES, EROFS or a short write.
//   - IndexedDB (GOOS=js only), files as records in the browser's
//     IndexedDB, each change a strict transaction; Default returns it in a
//     browser (docs/web.md).
//
// CrashFS and FaultFS are exported so that a game can crash-test its own
// save flow through savekit.
//
// # Durability by platform
//
// Linux: Datasync is fdatasync(2), Sync is fsync(2), SyncDir fsyncs the
// directory. Files are opened O_NOFOLLOW|O_CLOEXEC; Lock is flock(2)
// LOCK_EX|LOCK_NB.
//
// macOS: fsync(2) only hands data to the drive, which may keep it in a
// volatile cache; F_FULLFSYNC asks the drive to flush. Go's os.File.Sync
// already issues F_FULLFSYNC on darwin (falling back to fsync where the file
// system answers ENOTSUP), so Sync, Datasync and SyncDir all use it. There
// is no fdatasync.
//
// Windows: Sync and Datasync are FlushFileBuffers. A directory cannot be
// opened and flushed, so SyncDir does nothing; instead Rename uses
// MoveFileEx with MOVEFILE_REPLACE_EXISTING|MOVEFILE_WRITE_THROUGH, which
// returns only once the rename is on disk, and retries a bounded number of
// times while another process (an antivirus scanner, an indexer) holds the
// file open. A file created without a rename is not known to be durable
// until a later write-through rename in the same directory; slots creates
// its files by renaming a temporary for this reason. There is no O_NOFOLLOW:
// OpenFile refuses a name whose Lstat shows a symbolic link or other
// reparse point, which leaves a small window between the check and the
// open. Lock is LockFileEx, exclusive, fail-immediately.
//
// No platform can make a drive that acknowledges a flush and then loses the
// data keep it; see docs/durability.md.
package vfs
