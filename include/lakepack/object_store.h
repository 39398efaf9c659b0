// ObjectStore: the one interface through which lakepack reads, writes, lists and deletes data,
// whether it lives in a local directory or an S3 bucket.
//
// Keys are relative, '/'-separated names inside the store's root ("2024/01/01/a.parquet").
// A key is never empty, never starts with '/', and holds no "." or ".." segment and no NUL;
// stores reject such keys with InvalidArgument (see ValidateKey).
//
// Thread-safety: every ObjectStore implementation is safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

//! What a store knows about one object.
struct ObjectInfo {
  std::string key;
  int64_t size = 0;
  //! An opaque version tag that changes whenever the content changes (S3's ETag without
  //! quotes; for local files a tag made of size and mtime).
  std::string etag;
  //! Last modification, nanoseconds since the Unix epoch (0 when unknown).
  int64_t mtime_ns = 0;
  //! The PutOptions::tag the object was written with; filled by Stat only (listings leave it
  //! empty), and only where Capabilities().tags.
  std::string tag;
  //! The PutOptions::metadata the object was written with; like `tag`, filled by Stat only.
  std::vector<std::pair<std::string, std::string>> metadata;

  //! The value of metadata `name` ("" when absent).
  std::string Metadata(std::string_view name) const;
};

struct ListOptions {
  //! Only keys that start with this string ("" lists everything).
  std::string prefix;
  //! When non-empty, keys holding the delimiter after the prefix are rolled up into
  //! common_prefixes, as S3 does ("/" lists one directory level).
  std::string delimiter;
  //! Token from a previous page's next_token; empty for the first page.
  std::string continuation_token;
  //! Most keys in one page (S3 caps this at 1000).
  int max_keys = 1000;
};

struct ListPage {
  //! Objects in ascending byte order of key.
  std::vector<ObjectInfo> objects;
  //! With a delimiter: the rolled-up prefixes, each ending in the delimiter, ascending.
  std::vector<std::string> common_prefixes;
  //! Empty when this was the last page.
  std::string next_token;
};

//! A byte range [offset, offset + length). length < 0 means "to the end".
struct ByteRange {
  int64_t offset = 0;
  int64_t length = -1;
  bool whole() const { return offset == 0 && length < 0; }
};

struct PutOptions {
  //! Create-only: fail with AlreadyExists when the key is present. Stores whose endpoint
  //! silently ignores the condition report it in Capabilities().create_only_reliable.
  bool if_none_match = false;
  //! The caller no longer needs the source file: a store may move it instead of copying.
  bool consume_source = false;
  std::string content_type;
  //! Compare-and-swap: write only if the object now has this ETag; otherwise (also when it is
  //! absent) fail with FailedPrecondition naming the key. Enforced by the endpoint where
  //! Capabilities().if_match_reliable; elsewhere the store checks with a Stat just before the
  //! write, which narrows the window but does not close it. The message reads "<uri>: changed
  //! since it was planned (ETag <if_match>, now <etag>)", or "… now absent)". Together with
  //! if_none_match: InvalidArgument.
  std::string if_match;
  //! A short opaque string kept with the object and returned by Stat in ObjectInfo::tag (S3:
  //! user metadata x-amz-meta-lakepack-tag; local: the xattr user.lakepack.tag). The commit
  //! protocol writes "<task id>.<generation>" here, so that one Stat tells recovery whether a
  //! write happened. Ignored where !Capabilities().tags.
  std::string tag;
  //! User metadata kept with the object, returned by Stat in ObjectInfo::metadata: (name,
  //! value) pairs; a name is lower-case letters, digits and '-' and does not start with
  //! "lakepack-tag" or "lakepack-write-id"; a value is printable ASCII, at most 1024 bytes
  //! (encode anything else). S3: the header x-amz-meta-<name>; local: the xattr user.<name>.
  //! Ignored where !Capabilities().tags.
  std::vector<std::pair<std::string, std::string>> metadata;
};

//! InvalidArgument naming `uri` unless `metadata` follows PutOptions::metadata's rules.
Status CheckMetadata(const std::string& uri,
                     const std::vector<std::pair<std::string, std::string>>& metadata);

//! A multipart upload that was started and neither completed nor aborted (it is stored, and
//! billed, until aborted).
struct PendingUpload {
  std::string key;
  std::string upload_id;
  int64_t initiated_ns = 0;  // when it was started (0 when unknown)
};

//! What a store promises; callers that need a guarantee check it here rather than assume it.
struct StoreCapabilities {
  //! A reader never sees a partly written object.
  bool atomic_write = true;
  //! PutOptions::if_none_match is enforced by the store. When false, a create-only write
  //! may overwrite, and callers must not build exclusion on it.
  bool create_only_reliable = true;
  //! A listing right after a write shows it.
  bool consistent_listing = true;
  //! PutOptions::if_match is enforced atomically by the store (S3: probed per endpoint).
  bool if_match_reliable = true;
  //! A create-only write that goes up in parts is enforced too (S3: If-None-Match honoured on
  //! CompleteMultipartUpload, probed per endpoint; RGW ignores it there).
  bool create_only_multipart_reliable = true;
  //! PutOptions::tag is kept and Stat returns it.
  bool tags = true;
  //! A '/'-delimited listing reports every common prefix (S3: probed per endpoint; s3rver 3.7
  //! leaves out a prefix that holds only deeper prefixes). When false, walks list flat.
  bool delimiter_listing_reliable = true;
};

//! An object whose bytes go up while its local file is still being written, so that the upload
//! overlaps the writing (ObjectStore::BeginFollowingUpload). Nothing of it is visible before
//! Complete. Not thread-safe: one caller begins, completes or drops it.
class FollowingUpload {
 public:
  //! Abandons the upload unless Complete made it the object (S3: aborts the multipart upload).
  virtual ~FollowingUpload() = default;
  //! Sends the first request (S3: CreateMultipartUpload) and starts following the file. Nothing
  //! is sent before, so that a caller can first record what it is about to do (the commit
  //! protocol's intent record, from which recovery aborts what a crash left open).
  virtual Status Start() = 0;
  //! The file is finished (its writer has closed it): sends the rest and makes the file's bytes
  //! the object, create-only. AlreadyExists when the key appeared meanwhile. std::nullopt when
  //! the file did not only grow while it was followed (it was replaced or truncated, or bytes
  //! already sent changed): nothing was written, and the caller writes it whole.
  virtual Result<std::optional<ObjectInfo>> Complete() = 0;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  //! The store's root as a URI, for messages ("file:///data/lake", "s3://bucket/prefix").
  virtual std::string Uri() const = 0;
  //! A URI naming one object of this store.
  std::string UriOf(std::string_view key) const;

  virtual StoreCapabilities Capabilities() const = 0;

  //! One page of keys. Keys are in ascending byte order across pages. A prefix that matches
  //! nothing gives an empty page, not an error.
  virtual Result<ListPage> List(const ListOptions& options) = 0;

  //! Every object under `prefix` (all pages, no delimiter).
  Result<std::vector<ObjectInfo>> ListAll(std::string_view prefix);

  //! A missing object is a normal answer: an OK result holding std::nullopt.
  virtual Result<std::optional<ObjectInfo>> Stat(std::string_view key) = 0;

  //! Only the current ETag of `key` (std::nullopt when it is missing), for checks that an
  //! object is still as planned. Local stores answer it from one stat(2), without the tag and
  //! metadata that Stat reads; the default calls Stat.
  virtual Result<std::optional<std::string>> CurrentEtag(std::string_view key);

  //! The bytes of an object, or of a range of it. A missing object gives NotFound.
  //! A range that starts past the end gives InvalidArgument; one that runs past the end
  //! is cut at the end.
  virtual Result<std::string> Read(std::string_view key, ByteRange range = {}) = 0;

  //! Like Read, into a local file (created or truncated). On failure the file is removed.
  virtual Status ReadToFile(std::string_view key, const std::string& local_path,
                            ByteRange range = {}) = 0;

  //! Writes an object from a local file. Atomic where Capabilities().atomic_write: readers
  //! see the old object or the whole new one, never a part. Overwrites unless
  //! options.if_none_match. Returns what was written.
  virtual Result<ObjectInfo> WriteFromFile(std::string_view key, const std::string& local_path,
                                           const PutOptions& options = {}) = 0;

  //! Writes an object from memory, with the same guarantees as WriteFromFile.
  virtual Result<ObjectInfo> Write(std::string_view key, std::string_view data,
                                   const PutOptions& options = {}) = 0;

  //! Copies an object inside the store, overwriting the target. Missing source: NotFound.
  virtual Status Copy(std::string_view from_key, std::string_view to_key) = 0;

  //! Deletes objects. Keys that do not exist are not an error. Not atomic as a whole: on
  //! failure some keys may be gone; the message names the first that failed.
  virtual Status Delete(const std::vector<std::string>& keys) = 0;

  //! Pinned reads: Read / ReadToFile of the object only while it has ETag `etag`; otherwise
  //! FailedPrecondition "<uri>: changed since it was planned (ETag <etag>, now <now>)", and
  //! NotFound when it is gone. S3 sends If-Match on every GET; local stores compare the open
  //! file's tag. The default checks with Stat before and after the read.
  virtual Result<std::string> ReadPinned(std::string_view key, std::string_view etag,
                                         ByteRange range = {});
  virtual Status ReadToFilePinned(std::string_view key, std::string_view etag,
                                  const std::string& local_path);

  //! Pinned deletes: deletes each (key, etag) only while the object still has that ETag.
  //! Returns the keys left in place because their ETag changed (missing keys are neither
  //! deleted nor returned). Where the endpoint cannot delete conditionally the store checks
  //! with a Stat just before the delete (a narrow window, documented in commit-protocol.md).
  //! The default does that with Stat and Delete.
  virtual Result<std::vector<std::string>> DeletePinned(
      const std::vector<std::pair<std::string, std::string>>& keys_and_etags);

  //! Starts a create-only write of `key` (options.if_none_match, no if_match) from `local_path`
  //! while another writer still appends to that file; FollowingUpload::Complete finishes it
  //! once the file is closed. The file need not exist yet. `expected_size` is the caller's
  //! guess of its final size. Null (the default) where following gains nothing or the store
  //! cannot enforce the condition on that path (local stores; S3 objects below the multipart
  //! threshold, endpoints that do not refuse a create-only multipart completion, or that keep
  //! no tags): the caller writes the finished file with WriteFromFile. Sends nothing until
  //! FollowingUpload::Start.
  virtual Result<std::unique_ptr<FollowingUpload>> BeginFollowingUpload(
      std::string_view key, const std::string& local_path, int64_t expected_size,
      const PutOptions& options) {
    (void)key, (void)local_path, (void)expected_size, (void)options;
    return std::unique_ptr<FollowingUpload>();
  }

  //! Multipart uploads under `prefix` that were never completed or aborted, keys relative to
  //! the store. Stores without multipart uploads return none (the default), and so do S3
  //! endpoints without ListMultipartUploads (s3rver).
  virtual Result<std::vector<PendingUpload>> ListPendingUploads(std::string_view prefix) {
    (void)prefix;
    return std::vector<PendingUpload>{};
  }
  //! Aborts one (an upload already gone is not an error).
  virtual Status AbortPendingUpload(const PendingUpload& upload) {
    (void)upload;
    return Status::OK();
  }

  //! Requests made so far, by kind ("GET", "PUT", "LIST", "HEAD", "COPY", "DELETE",
  //! "MULTIPART_PART", "retries", "bytes_read", "bytes_written"), for run summaries.
  virtual std::map<std::string, int64_t> Counters() const { return {}; }
  //! Whose requests Counters() counts: stores that share one client (S3 stores opened with the
  //! same settings, a prefix view and its base) share it, so that a run adds each once.
  virtual const void* CounterOwner() const { return this; }

  //! For stores whose objects are plain local files: the path of `key`, so that readers can
  //! use it in place instead of copying. std::nullopt for remote stores.
  virtual std::optional<std::string> LocalPath(std::string_view key) const {
    (void)key;
    return std::nullopt;
  }
};

//! Checks the key rules above; the message names the key and the rule it breaks.
Status ValidateKey(std::string_view key);

}  // namespace lakepack
