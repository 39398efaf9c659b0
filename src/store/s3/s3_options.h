// S3Options: everything the S3 store needs to reach a bucket (endpoint, region, addressing,
// credentials, TLS, concurrency, multipart and retry settings), with FromEnv() reading the
// usual AWS variables and files, and ToString() that never shows a secret.
// Thread-safety: a plain value; share it read-only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lakepack/status.h"
#include "store/s3/retry.h"
#include "store/s3/sigv4.h"

namespace lakepack::s3 {

// Protocol limits of S3 (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
inline constexpr int kMaxPartsPerUpload = 10000;
inline constexpr int64_t kMinPartSize = int64_t{5} << 20;        // 5 MiB, all but the last
inline constexpr int64_t kMaxPartSize = int64_t{5} << 30;        // 5 GiB
inline constexpr int64_t kMaxSinglePutSize = int64_t{5} << 30;   // 5 GiB per PUT
inline constexpr int64_t kMaxObjectSize = int64_t{5} << 40;      // 5 TiB
inline constexpr int64_t kMaxSingleCopySize = int64_t{5} << 30;  // 5 GiB per CopyObject
inline constexpr int kMaxDeleteBatch = 1000;                     // keys per DeleteObjects
inline constexpr int kMaxListKeys = 1000;                        // keys per ListObjectsV2

inline constexpr int kDefaultConcurrency = 16;
inline constexpr int64_t kDefaultMultipartThreshold = int64_t{64} << 20;  // 64 MiB
inline constexpr int64_t kDefaultPartSize = int64_t{16} << 20;            // 16 MiB
inline constexpr int kDefaultMaxRetries = 6;
inline constexpr int kDefaultRetryBaseMs = 100;
inline constexpr int kDefaultRetryMaxDelayMs = 20000;
inline constexpr int kDefaultRetryMaxTimeS = 120;
inline constexpr std::string_view kDefaultRegion = "us-east-1";

enum class Addressing {
  kAuto,     // path-style for custom endpoints and IP hosts, virtual-hosted for AWS
  kPath,     // http://host/bucket/key
  kVirtual,  // http://bucket.host/key
};

struct S3Options {
  //! "scheme://host[:port]"; empty means AWS itself (https://s3.<region>.amazonaws.com).
  std::string endpoint;
  std::string region = std::string(kDefaultRegion);
  //! The scheme of AWS's own endpoint (S3_USE_SSL); a custom endpoint carries its own.
  bool use_ssl = true;
  Addressing addressing = Addressing::kAuto;
  Credentials credentials;
  //! Where the credentials came from, for messages ("environment (AWS_ACCESS_KEY_ID)",
  //! "profile 'dev' in /root/.aws/credentials", "none: requests are not signed").
  std::string credentials_source = "none: requests are not signed";
  //! PEM bundle of CA certificates for https endpoints ("" = the system's).
  std::string ca_bundle;

  //! Most requests in flight at once across the store, and size of its transfer pool.
  int concurrency = kDefaultConcurrency;
  //! Objects this large or larger are uploaded in parts, and downloaded in ranged parts.
  int64_t multipart_threshold = kDefaultMultipartThreshold;
  //! Size of every part but the last; grown when an object would need more than
  //! kMaxPartsPerUpload parts.
  int64_t part_size = kDefaultPartSize;
  //! Hash file bodies with SHA-256 for the signature instead of sending UNSIGNED-PAYLOAD
  //! (their integrity is covered by Content-MD5 either way).
  bool sign_payload = false;

  int max_retries = kDefaultMaxRetries;
  int retry_base_ms = kDefaultRetryBaseMs;
  int retry_max_delay_ms = kDefaultRetryMaxDelayMs;
  int retry_max_time_s = kDefaultRetryMaxTimeS;
  //! Overrides the exponential backoff built from the four fields above.
  std::shared_ptr<const RetryStrategy> retry_strategy;

  int connect_timeout_ms = 10000;
  //! A transfer that moves no byte for this long is abandoned (and retried).
  int idle_timeout_s = 60;
  //! Log each request (method, URL, status, attempt) and, for signing failures, the
  //! canonical request and string to sign, on stderr. Never the secret.
  bool debug = false;

  //! Reads the environment and the AWS shared files (see docs in s3_options.cc and the
  //! table in docs). InvalidArgument names the variable or file entry that is wrong.
  static Result<S3Options> FromEnv();
  //! FromEnv with a custom variable lookup (tests).
  using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;
  static Result<S3Options> FromLookup(const EnvLookup& getenv);

  //! One line per setting; the secret key and session token show only as "<redacted>",
  //! the access key id only by its last four characters.
  std::string ToString() const;
  //! "https://s3.<region>.amazonaws.com" (http:// without use_ssl).
  std::string AwsEndpoint() const;

  //! The retry strategy in force (retry_strategy, or the exponential default).
  std::shared_ptr<const RetryStrategy> Retry() const;
  //! The part size used for an object of `size` bytes (≥ part_size, ≥ kMinPartSize, and
  //! large enough for at most kMaxPartsPerUpload parts).
  int64_t PartSizeFor(int64_t size) const;
  //! Whether requests for `bucket` go path-style.
  bool UsePathStyle(std::string_view bucket) const;
  //! Checks ranges and combinations (positive sizes, part size ≥ 5 MiB, ...).
  Status Validate() const;
};

//! "http://host:port" for MINIO_SERVER-style values without a scheme: http for loopback
//! hosts (127.x, localhost, ::1), https otherwise. Values with a scheme are kept.
std::string NormalizeEndpoint(std::string_view endpoint);

//! True for hosts that are IP addresses (v4 or [v6]), for which virtual hosting cannot work.
bool IsIpHost(std::string_view host);

//! The access key id with all but its last four characters masked.
std::string MaskAccessKeyId(std::string_view id);

}  // namespace lakepack::s3
