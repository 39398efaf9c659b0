// S3Store: the ObjectStore over an S3 bucket (AWS S3 or any S3-compatible endpoint), rooted
// at s3://bucket/prefix. Opened through OpenStore / OpenS3Store (src/store/s3_open.h); this
// header adds what only S3 stores offer. Thread-safety: safe to use from many threads.
//
// What it guarantees, beyond object_store.h:
// - Keys are relative to the prefix; error messages name the full s3://bucket/prefix/key.
// - Writes are atomic (S3 shows an object only once its PUT or multipart upload completes).
//   Objects of multipart_threshold bytes or more go up in parts of equal size, in parallel,
//   and the upload is aborted on any failure so no orphan parts stay behind.
// - Create-only writes send If-None-Match: *, compare-and-swap writes If-Match. What the
//   endpoint enforces is probed once per endpoint, bucket and prefix, on the first call to
//   Capabilities() or the first if_match write, with one round of tiny requests on one key
//   under <prefix>/_lakepack/probe/, deleted afterwards:
//     create_only_reliable: a second create-only PUT is refused (s3rver overwrites);
//     tags: the first PUT's x-amz-meta-lakepack-tag comes back on HEAD;
//     if_match_reliable: a PUT with the right ETag succeeds and one with a stale ETag gets
//       412, in the quoted form (""etag"", AWS, moto) or else the bare one (Ceph RGW
//       matches only the unquoted ETag); the store then sends the form that worked;
//     create_only_multipart_reliable: a 1-part multipart upload of the existing key completed
//       with If-None-Match: * is refused (RGW and s3rver complete it).
//   Where the probe cannot run (read-only credentials) everything is false. Where if_match is
//   not enforced the store checks with a HEAD just before the PUT (a window).
// - Multipart uploads of a probed store whose endpoint enforces create-only completion (AWS,
//   moto) declare CRC32 flexible checksums: each part carries x-amz-checksum-crc32 beside its
//   Content-MD5, and the completion lists them.
// - Compare-and-swap writes up to 5 GiB go as a single PUT; so do create-only writes, unless
//   the endpoint enforces If-None-Match on CompleteMultipartUpload (probed: AWS, moto), where
//   they go up in parts above the multipart threshold like any other write.
// - Pinned reads send If-Match on every GET (a 412 is told apart by a HEAD: changed →
//   FailedPrecondition, gone → NotFound), and check the answer's ETag too, for endpoints that
//   ignore If-Match. Pinned deletes HEAD each key and delete those that still match (a window).
// - A CreateMultipartUpload that needed more than one attempt may have left an upload behind
//   (a lost answer): after the write, the other uploads of that key started since are aborted.
// - BeginFollowingUpload: a create-only multipart upload that sends a file's parts while its
//   writer is still appending, and completes with If-None-Match: *; only where the endpoint
//   enforces that (create_only_multipart_reliable) and keeps tags, and for an expected size at
//   or above the multipart threshold.
// - ListPendingUploads is ListMultipartUploads; on s3rver, which lacks it, none.
// - Listings are consistent (S3 is strongly consistent since December 2020).
// - Transient failures (5xx, 429, SlowDown, timeouts, dropped connections, bodies cut short)
//   are retried with exponential backoff and full jitter, bounded in count and time.
// - At most S3Options::concurrency requests are in flight at once per client; stores opened
//   with the same settings share one client (connections, pool and bound).
// - WriteFromFile reads the file in place (PutOptions::consume_source is not acted on: the
//   caller's file stays). Create-only writes up to 5 GiB go as a single PUT.
// - ETags are S3's, without quotes; mtime_ns of a freshly written object is 0 (unknown:
//   S3 does not return it), Stat and List give S3's LastModified.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "lakepack/object_store.h"
#include "lakepack/status.h"
#include "store/s3/s3_options.h"

namespace lakepack {

namespace s3 {
class S3Client;
struct Payload;
}  // namespace s3

class S3Store final : public ObjectStore {
 public:
  //! REQUIRES: `prefix` empty or ending in '/'. Use OpenS3StoreWithOptions.
  S3Store(std::shared_ptr<s3::S3Client> client, std::string bucket, std::string prefix);
  ~S3Store() override;

  std::string Uri() const override;
  StoreCapabilities Capabilities() const override;
  Result<ListPage> List(const ListOptions& options) override;
  Result<std::optional<ObjectInfo>> Stat(std::string_view key) override;
  Result<std::string> Read(std::string_view key, ByteRange range = {}) override;
  Status ReadToFile(std::string_view key, const std::string& local_path,
                    ByteRange range = {}) override;
  Result<ObjectInfo> WriteFromFile(std::string_view key, const std::string& local_path,
                                   const PutOptions& options = {}) override;
  Result<ObjectInfo> Write(std::string_view key, std::string_view data,
                           const PutOptions& options = {}) override;
  Status Copy(std::string_view from_key, std::string_view to_key) override;
  Status Delete(const std::vector<std::string>& keys) override;
  Result<std::string> ReadPinned(std::string_view key, std::string_view etag,
                                 ByteRange range = {}) override;
  Status ReadToFilePinned(std::string_view key, std::string_view etag,
                          const std::string& local_path) override;
  Result<std::vector<std::string>> DeletePinned(
      const std::vector<std::pair<std::string, std::string>>& keys_and_etags) override;
  Result<std::unique_ptr<FollowingUpload>> BeginFollowingUpload(std::string_view key,
                                                                const std::string& local_path,
                                                                int64_t expected_size,
                                                                const PutOptions& options) override;
  Result<std::vector<PendingUpload>> ListPendingUploads(std::string_view prefix) override;
  Status AbortPendingUpload(const PendingUpload& upload) override;
  std::map<std::string, int64_t> Counters() const override;
  const void* CounterOwner() const override { return client_.get(); }

  //! Creates the bucket when it does not exist (StoreOptions::create_bucket).
  Status EnsureBucket();

  // S3-only.

  //! What the endpoint enforces (see above): probed once, cached per endpoint and bucket.
  struct Probed {
    bool create_only = false;
    bool create_only_multipart = false;
    bool if_match = false;
    bool if_match_bare = false;  // If-Match wants the unquoted ETag (Ceph RGW)
    bool tags = false;
    bool delimiter = false;  // a '/' listing shows a prefix that holds only a deeper prefix
  };

  const std::string& bucket() const { return bucket_; }
  //! "" or "a/b/".
  const std::string& prefix() const { return prefix_; }
  const s3::S3Options& options() const;
  //! Runs fn(0..n-1) through the store's transfer pool (see s3::ParallelFor), for callers
  //! that move many objects at once: the requests inside still obey the concurrency bound.
  Status ParallelFor(size_t n, const std::function<Status(size_t)>& fn);

 private:
  std::string Full(std::string_view key) const { return prefix_ + std::string(key); }
  //! ValidateKey, and the full key within S3's length limit.
  Status CheckKey(std::string_view key) const;
  const Probed& Probe() const;
  Result<ObjectInfo> Upload(std::string_view key, const s3::Payload& payload,
                            const PutOptions& options);

  const std::shared_ptr<s3::S3Client> client_;
  const std::string bucket_;
  const std::string prefix_;
  mutable std::once_flag probe_once_;
  mutable Probed probed_;
  mutable std::atomic<bool> probe_done_{false};  // probed_ is final
};

//! Opens s3://bucket/prefix with explicit options (tests, benchmarks); OpenS3Store reads them
//! from the environment. No network I/O. Leading and trailing '/' of `prefix` are dropped.
Result<std::shared_ptr<S3Store>> OpenS3StoreWithOptions(const std::string& bucket,
                                                        const std::string& prefix,
                                                        s3::S3Options options);

}  // namespace lakepack
