// S3Store: the ObjectStore over an S3 bucket (AWS S3 or any S3-compatible endpoint), rooted
// at s3://bucket/prefix. Opened through OpenStore / OpenS3Store (src/store/s3_open.h); this
// header adds what only S3 stores offer. Thread-safety: safe to use from many threads.
//
// What it guarantees, beyond object_store.h:
// - Keys are relative to the prefix; error messages name the full s3://bucket/prefix/key.
// - Writes are atomic (S3 shows an object only once its PUT or multipart upload completes).
//   Objects of multipart_threshold bytes or more go up in parts of equal size, in parallel,
//   and the upload is aborted on any failure so no orphan parts stay behind.
// - Create-only writes send If-None-Match: *. Whether the endpoint enforces it is probed once
//   per endpoint and bucket, on the first call to Capabilities() (two create-only PUTs of a
//   key under <prefix>/_lakepack/probe/, then a delete); create_only_reliable is false where
//   the second PUT succeeds, or the probe cannot run.
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
}

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
  std::map<std::string, int64_t> Counters() const override;

  // S3-only.

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
  bool ProbeCreateOnly() const;

  const std::shared_ptr<s3::S3Client> client_;
  const std::string bucket_;
  const std::string prefix_;
  mutable std::once_flag probe_once_;
  mutable bool create_only_reliable_ = false;
};

//! Opens s3://bucket/prefix with explicit options (tests, benchmarks); OpenS3Store reads them
//! from the environment. No network I/O. Leading and trailing '/' of `prefix` are dropped.
Result<std::shared_ptr<S3Store>> OpenS3StoreWithOptions(const std::string& bucket,
                                                        const std::string& prefix,
                                                        s3::S3Options options);

}  // namespace lakepack
