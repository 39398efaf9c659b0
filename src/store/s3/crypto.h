// Hashes and encodings the S3 protocol needs (SHA-256, HMAC-SHA256, MD5, hex, base64), over
// OpenSSL. Thread-safety: every function is safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lakepack/status.h"

namespace lakepack::s3 {

//! Raw 32-byte SHA-256 digest.
std::string Sha256(std::string_view data);
//! Raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
//! Raw 16-byte MD5 digest (S3's Content-MD5 and single-part ETags; not used for security).
std::string Md5(std::string_view data);

//! Lower-case hex of raw bytes.
std::string HexEncode(std::string_view raw);
//! Standard base64 with padding.
std::string Base64Encode(std::string_view raw);

//! Incremental MD5 and SHA-256 over data that arrives in pieces.
class StreamingDigest {
 public:
  //! `with_sha256`: also compute SHA-256 (costly; only for signed payloads).
  explicit StreamingDigest(bool with_sha256);
  ~StreamingDigest();
  StreamingDigest(const StreamingDigest&) = delete;
  StreamingDigest& operator=(const StreamingDigest&) = delete;

  void Update(const void* data, size_t size);
  //! Raw digests. REQUIRES: called once, after the last Update.
  void Finish(std::string* md5, std::string* sha256);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

//! MD5 (and SHA-256 when `sha256` is not null, the CRC-32 when `crc32` is) of `length` bytes of
//! the open file `fd` from `offset`, in one pass read with pread. `path` is for messages.
//! IOError when the file is shorter.
Status DigestFileRange(int fd, const std::string& path, int64_t offset, int64_t length,
                       std::string* md5, std::string* sha256, uint32_t* crc32 = nullptr);

}  // namespace lakepack::s3
