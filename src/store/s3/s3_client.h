// S3Client: one endpoint, region and set of credentials. It addresses buckets (path-style or
// virtual-hosted), signs every request with SigV4, sends it under the store's concurrency
// bound, retries transient failures through the RetryStrategy, counts requests by kind, and
// turns failures into one-line Status messages that never hold the secret.
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <semaphore>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/status.h"
#include "store/s3/http.h"
#include "store/s3/s3_options.h"
#include "store/s3/thread_pool.h"

namespace lakepack::s3 {

//! Request kinds, for Counters(). The names are ObjectStore::Counters()'s.
enum class RequestKind {
  kGet,
  kPut,
  kList,
  kHead,
  kCopy,
  kDelete,
  kMultipartCreate,
  kMultipartPart,
  kMultipartComplete,
  kMultipartAbort,
  kCount_
};
std::string_view RequestKindName(RequestKind kind);

struct S3Request {
  RequestKind kind = RequestKind::kGet;
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string bucket;
  std::string key;    // "" for requests on the bucket itself
  KeyValues query;    // decoded names and values
  KeyValues headers;  // Range, Content-MD5, If-None-Match, ...

  //! Body (PUT and POST): memory `body`, or `body_length` bytes of file `body_fd`.
  bool send_body = false;
  std::string_view body;
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_length = 0;
  std::string body_path;
  //! SHA-256 hex of the body when the caller has it; "" lets Execute decide (hash a memory
  //! body; UNSIGNED-PAYLOAD for a file body unless sign_payload).
  std::string payload_hash;

  //! Where a 2xx body goes: memory, or the file `sink_fd` at `sink_offset`.
  int sink_fd = -1;
  int64_t sink_offset = 0;
  std::string sink_path;

  //! Statuses the caller handles itself: returned as an OK result, not as a failure, and
  //! never retried (404 for HEAD, 412 for create-only PUT, ...).
  std::vector<int> accept;
  //! A 200 answer may hold an <Error> document (CopyObject, CompleteMultipartUpload).
  bool error_in_ok_body = false;
  //! See HttpRequest::check_headers; a stopped response is returned as it is.
  std::function<bool(const HttpResponse&)> check_headers;
};

class S3Client {
 public:
  static Result<std::shared_ptr<S3Client>> Make(S3Options options);
  ~S3Client();

  const S3Options& options() const { return options_; }

  //! Sends `request`, retrying transient failures. OK holds a 2xx response or one whose
  //! status is in request.accept; anything else is a Status (see errors.h).
  Result<HttpResponse> Execute(const S3Request& request);

  //! The standard Status for a response the caller accepted but treats as a failure.
  Status Failure(const S3Request& request, const HttpResponse& response) const;

  //! "s3://bucket/key" (or "s3://bucket" when key is empty), for messages.
  static std::string UriOf(std::string_view bucket, std::string_view key);
  //! "scheme://host[:port]" that requests for `bucket` go to.
  std::string EndpointFor(std::string_view bucket) const;

  //! The transfer pool (size = options().concurrency).
  ThreadPool* pool() { return &pool_; }

  void AddBytesRead(int64_t n) { bytes_read_ += n; }
  void AddBytesWritten(int64_t n) { bytes_written_ += n; }
  //! Requests sent (every attempt) by kind, plus "retries", "bytes_read", "bytes_written".
  std::map<std::string, int64_t> Counters() const;

  //! Set once the endpoint has refused a DeleteObjects batch: later deletes go one by one.
  bool batch_delete_refused() const { return batch_delete_refused_.load(); }
  void set_batch_delete_refused() { batch_delete_refused_ = true; }

  //! The If-Match value for a (bare) ETag: quoted, as AWS and moto take it, unless this
  //! endpoint was found to want it bare (Ceph RGW matches only the unquoted form).
  std::string IfMatchValue(std::string_view etag) const;
  bool if_match_bare() const { return if_match_bare_.load(); }
  //! Set by the store's probe, or by a pinned read whose If-Match was refused although the
  //! object still had that ETag.
  void set_if_match_bare(bool bare) { if_match_bare_ = bare; }

  //! Replaces every occurrence of the secret key and session token in `text`.
  std::string Scrub(std::string text) const;
  Status Scrub(const Status& status) const;

 private:
  explicit S3Client(S3Options options);

  struct Target {
    std::string url;
    std::string host;  // Host header: host[:port]
    std::string encoded_path;
  };
  Target TargetFor(const S3Request& request) const;
  //! One attempt: sign and send under the concurrency bound.
  Result<HttpResponse> Attempt(const S3Request& request, const Target& target,
                               const std::string& payload_hash);
  void Debug(const std::string& line) const;

  const S3Options options_;
  const std::shared_ptr<const RetryStrategy> retry_;
  std::string scheme_;  // "http" or "https"
  std::string host_;    // host[:port] of the endpoint
  HttpClient http_;
  std::counting_semaphore<> in_flight_;
  std::array<std::atomic<int64_t>, static_cast<size_t>(RequestKind::kCount_)> requests_{};
  std::atomic<int64_t> retries_{0};
  std::atomic<int64_t> bytes_read_{0};
  std::atomic<int64_t> bytes_written_{0};
  std::atomic<bool> batch_delete_refused_{false};
  std::atomic<bool> if_match_bare_{false};
  // Last, so that it is destroyed (its workers joined) before anything its tasks may use.
  ThreadPool pool_;
};

}  // namespace lakepack::s3
