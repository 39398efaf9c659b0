// OpenSSL's EVP interface behind the few digests S3 needs; no other file includes OpenSSL.
#include "store/s3/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/crc32.h"
#include "common/file_range.h"

namespace lakepack::s3 {

namespace {

std::string Digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

std::string Sha256(std::string_view data) { return Digest(EVP_sha256(), data); }

std::string Md5(std::string_view data) { return Digest(EVP_md5(), data); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string HexEncode(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xf];
  }
  return out;
}

std::string Base64Encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

struct StreamingDigest::Impl {
  EVP_MD_CTX* md5 = nullptr;
  EVP_MD_CTX* sha = nullptr;
};

StreamingDigest::StreamingDigest(bool with_sha256) : impl_(std::make_unique<Impl>()) {
  impl_->md5 = EVP_MD_CTX_new();
  EVP_DigestInit_ex(impl_->md5, EVP_md5(), nullptr);
  if (with_sha256) {
    impl_->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(impl_->sha, EVP_sha256(), nullptr);
  }
}

StreamingDigest::~StreamingDigest() {
  EVP_MD_CTX_free(impl_->md5);
  EVP_MD_CTX_free(impl_->sha);
}

void StreamingDigest::Update(const void* data, size_t size) {
  EVP_DigestUpdate(impl_->md5, data, size);
  if (impl_->sha != nullptr) EVP_DigestUpdate(impl_->sha, data, size);
}

void StreamingDigest::Finish(std::string* md5, std::string* sha256) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->md5, out, &len);
  if (md5 != nullptr) md5->assign(reinterpret_cast<char*>(out), len);
  if (impl_->sha != nullptr) {
    EVP_DigestFinal_ex(impl_->sha, out, &len);
    if (sha256 != nullptr) sha256->assign(reinterpret_cast<char*>(out), len);
  }
}

Status DigestFileRange(int fd, const std::string& path, int64_t offset, int64_t length,
                       std::string* md5, std::string* sha256, uint32_t* crc32) {
  StreamingDigest digest(sha256 != nullptr);
  uint32_t crc = 0;
  LP_RETURN_IF_ERROR(ForEachChunkOfFileRange(fd, path, offset, length, [&](std::string_view bytes) {
    digest.Update(bytes.data(), bytes.size());
    if (crc32) crc = Crc32(bytes, crc);
  }));
  digest.Finish(md5, sha256);
  if (crc32) *crc32 = crc;
  return Status::OK();
}

}  // namespace lakepack::s3
