// LocalStore: an ObjectStore over one local directory (the embedded default for file:// URIs
// and bare paths). Thread-safety: the store may be used from many threads at once.
//
// What it guarantees, beyond object_store.h:
// - Keys map to files below the root ("a/b.csv" → <root>/a/b.csv); directories are created on
//   write and removed again when a delete leaves them empty (never the root itself).
// - Writes and copies are atomic and durable: data goes to a hidden temp file
//   (".lakepack-tmp-<random>") in the target directory, is fsync'ed, then renamed over the
//   key, and the directory is fsync'ed. Temp files never show in listings, and keys whose
//   segments start with ".lakepack-tmp-" are rejected.
// - Create-only writes (if_none_match) are race-free: renameat2(RENAME_NOREPLACE), or on
//   filesystems without it link(2) of the temp file, which fails when the name exists.
// - Every write stamps the file with the current time in nanoseconds (like S3's
//   LastModified); the ETag is "<size>-<mtime_ns>-<inode>" in lower-case hex, so it changes
//   whenever lakepack rewrites the object. A file rewritten in place by another program within
//   one filesystem clock tick and at the same size keeps its tag (a limit of size+mtime tags).
// - Tags (PutOptions::tag) are the xattr user.lakepack.tag, set on the temp file before the
//   rename so that they appear together with the content; Stat reads the ETag and the tag
//   from one open file. Whether the root's filesystem takes user xattrs is probed once per
//   store, on first use (a temp file in the root, or the root itself when that is read-only);
//   where not, Capabilities().tags is false and tags are ignored. Copy keeps the source's tag.
// - Compare-and-swap (if_match) is race-free against other lakepack writers that use if_match
//   or DeletePinned: the target is opened and flock(LOCK_EX)'ed, the path is checked to still
//   name that inode, its ETag compared, the new file renamed over it, and only then is the
//   lock released (a writer waiting on the old inode then finds the path naming another).
//   Plain writes do not take the lock. Absent or changed: FailedPrecondition naming the URI
//   ("… changed since it was planned (ETag X, now Y)" / "now absent").
// - Pinned reads check the ETag of the open descriptor and read from it, so the bytes are the
//   pinned version's even if the key is replaced meanwhile. Pinned deletes check and unlink
//   under the same lock as compare-and-swap.
// - consume_source: a source file on the same filesystem is renamed into place (after an
//   fsync, and given the mode and write time of any new object); one elsewhere, a symlink or
//   a file with other hard links is copied. Either way it is gone after a successful write,
//   and still there after a failed one.
// - ReadToFile opens the object and checks the range before it touches local_path, so a
//   missing object (NotFound) or a bad range leaves local_path as it was; a failure while
//   copying removes it. Problems with local_path itself are IOError, never NotFound.
// - Listings walk the directory tree in key byte order and stop once the page is full; the
//   continuation token is the last key (or common prefix) returned, so a page boundary stays
//   correct when objects are added or removed between pages. Only regular files are objects:
//   symlinks to files are listed, symlinked directories are not descended (no loops), other
//   file types are skipped.
// - A key and a key below it cannot both exist ("a" and "a/b"), unlike in S3: such a write
//   fails with FailedPrecondition.
// - Keys cannot leave the root lexically (ValidateKey rejects "..", absolute keys, NUL).
//   Symlinks inside the root are followed: whoever can place one there already decides what
//   the store holds, so the store does not try to police them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

//! Prefix of the temp files LocalStore writes before renaming them into place.
//! The full name is kLocalTempPrefix + "<pid>@<host>-<random>" (common/process_tag.h).
inline constexpr std::string_view kLocalTempPrefix = ".lakepack-tmp-";

//! Removes, under the local directory `dir` (recursively), the temp files of writes whose
//! process died on this host (a SIGKILL between a temp file's creation and its rename leaves
//! one behind; listings hide them). Temp files of live processes, or of other hosts, stay.
//! Returns how many it removed.
int SweepDeadTempFiles(const std::string& dir);

//! `path` made absolute against the working directory and lexically normalised ("." and
//! empty segments dropped, ".." applied; symlinks are not resolved). Never ends in '/'
//! except for the root "/" itself. InvalidArgument for an empty path or one holding NUL.
Result<std::string> AbsoluteLocalPath(std::string_view path);

//! Opens the directory `root_dir` (made absolute and lexically normalised) as a store.
//! A missing root is NotFound unless `create_root`, which creates it with its parents;
//! a root that is not a directory is FailedPrecondition.
Result<std::shared_ptr<ObjectStore>> OpenLocalStore(const std::string& root_dir, bool create_root);

}  // namespace lakepack
