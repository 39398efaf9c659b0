// Multipart upload (CreateMultipartUpload, UploadPart in parallel, CompleteMultipartUpload)
// and the part-by-part copy for objects too large for CopyObject. Every failure after the
// upload was created aborts it, so no orphan parts stay behind to be billed.
#include <pugixml.hpp>

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>

#include "common/crc32.h"
#include "store/s3/crypto.h"
#include "store/s3/errors.h"
#include "store/s3/operations.h"
#include "store/store_util.h"

namespace lakepack::s3 {

namespace {

struct UploadedPart {
  std::string etag;  // as S3 returned it, quotes included
  std::string md5;   // raw; empty for copied parts
  //! Where the upload declared CRC32: the part's CRC-32, and as x-amz-checksum-crc32 sent it
  //! (base64 of its big-endian bytes).
  uint32_t crc32 = 0;
  std::string crc32_header;
};

// A CRC-32 as S3's flexible checksums carry it: base64 of its 4 big-endian bytes.
std::string Crc32Header(uint32_t crc) {
  const char raw[4] = {static_cast<char>(crc >> 24), static_cast<char>(crc >> 16),
                       static_cast<char>(crc >> 8), static_cast<char>(crc)};
  return Base64Encode(std::string_view(raw, 4));
}

// CreateMultipartUpload. *attempts (when given) receives how many attempts it took: more
// than one means an earlier attempt may have created an upload whose answer was lost.
Result<std::string> CreateUpload(
    S3Client& client, const std::string& bucket, const std::string& key,
    const std::string& content_type, const std::string& write_id, const std::string& tag = "",
    int* attempts = nullptr,
    const std::vector<std::pair<std::string, std::string>>* metadata = nullptr,
    bool crc32 = false) {
  S3Request req;
  req.kind = RequestKind::kMultipartCreate;
  req.method = "POST";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploads", ""}};
  req.send_body = true;
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  req.headers.emplace_back(std::string(kWriteIdHeader), write_id);
  if (!tag.empty()) req.headers.emplace_back(std::string(kTagHeader), tag);
  if (metadata != nullptr) AddMetadataHeaders(*metadata, req.headers);
  // Each part then carries its CRC-32, which the endpoint checks and keeps (besides the
  // Content-MD5 it checks anyway); the completion lists them.
  if (crc32) req.headers.emplace_back("x-amz-checksum-algorithm", "CRC32");
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (attempts != nullptr) *attempts = resp.attempts;
  pugi::xml_document doc;
  doc.load_buffer(resp.body.data(), resp.body.size());
  std::string id = doc.document_element().child_value("UploadId");
  if (id.empty()) {
    return Status::Corruption(
        S3Client::UriOf(bucket, key) +
        ": CreateMultipartUpload answered no UploadId: " + OneLine(resp.body, 200));
  }
  return id;
}

Status AbortUpload(S3Client& client, const std::string& bucket, const std::string& key,
                   const std::string& upload_id) {
  return AbortMultipartUpload(client, bucket, key, upload_id);
}

// After a CreateMultipartUpload that took more than one attempt: an earlier attempt may have
// created an upload whose answer never came, which would stay (and be billed) forever.
// Aborts the uploads of exactly `key` other than `ours` that were started since the first
// attempt (less a minute for clock skew between us and the endpoint). Best effort: the
// write's own outcome does not depend on it. A concurrent writer of the same key that
// started an upload in that same minute would lose it; lakepack does not write one key from
// two places at once.
void AbortStrayUploads(S3Client& client, const std::string& bucket, const std::string& key,
                       const std::string& ours, int64_t first_attempt_ns) {
  const int64_t since = first_attempt_ns - int64_t{60} * 1000000000;
  Result<std::vector<PendingUpload>> pending = ListMultipartUploads(client, bucket, key);
  if (!pending.ok()) {
    if (client.options().debug) {
      std::fprintf(stderr, "lakepack s3: cannot list stray uploads of %s: %s\n",
                   S3Client::UriOf(bucket, key).c_str(), pending.status().ToString().c_str());
    }
    return;
  }
  for (const PendingUpload& upload : *pending) {
    if (upload.key != key || upload.upload_id == ours) continue;
    if (upload.initiated_ns == 0 || upload.initiated_ns < since) continue;
    (void)AbortMultipartUpload(client, bucket, key, upload.upload_id);
  }
}

// Runs AbortStrayUploads when the write is over, however it ended, if `active`.
class StrayUploadGuard {
 public:
  StrayUploadGuard(S3Client& client, const std::string& bucket, const std::string& key,
                   const std::string& upload_id, int64_t started_ns, bool active)
      : client_(client),
        bucket_(bucket),
        key_(key),
        upload_id_(upload_id),
        started_ns_(started_ns),
        active_(active) {}
  StrayUploadGuard(const StrayUploadGuard&) = delete;
  StrayUploadGuard& operator=(const StrayUploadGuard&) = delete;
  ~StrayUploadGuard() {
    if (active_) AbortStrayUploads(client_, bucket_, key_, upload_id_, started_ns_);
  }

 private:
  S3Client& client_;
  const std::string& bucket_;
  const std::string& key_;
  const std::string& upload_id_;
  const int64_t started_ns_;
  const bool active_;
};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Adds the abort's outcome to the failure that caused it.
Status FailAndAbort(S3Client& client, const std::string& bucket, const std::string& key,
                    const std::string& upload_id, const Status& cause) {
  Status aborted = AbortUpload(client, bucket, key, upload_id);
  if (aborted.ok()) return cause;
  return Status(cause.code(),
                cause.message() + "; aborting multipart upload " + upload_id +
                    " failed too, its parts stay until a lifecycle rule removes them (" +
                    aborted.message() + ")");
}

std::string CompleteBody(const std::vector<UploadedPart>& parts) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  for (size_t i = 0; i < parts.size(); ++i) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(static_cast<unsigned>(i + 1));
    part.append_child("ETag").text().set(parts[i].etag.c_str());
    if (!parts[i].crc32_header.empty()) {
      part.append_child("ChecksumCRC32").text().set(parts[i].crc32_header.c_str());
    }
  }
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

// CompleteMultipartUpload. Returns the new object's ETag.
Result<std::string> CompleteUpload(S3Client& client, const std::string& bucket,
                                   const std::string& key, const std::string& upload_id,
                                   const std::vector<UploadedPart>& parts,
                                   const std::string& write_id, bool if_none_match,
                                   const std::string& if_match = "") {
  const std::string uri = S3Client::UriOf(bucket, key);
  const std::string body = CompleteBody(parts);
  S3Request req;
  req.kind = RequestKind::kMultipartComplete;
  req.method = "POST";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  req.send_body = true;
  req.body = body;
  req.headers.emplace_back("Content-Type", "application/xml");
  if (if_none_match) req.headers.emplace_back("If-None-Match", "*");
  if (!if_match.empty()) req.headers.emplace_back("If-Match", client.IfMatchValue(if_match));
  // S3 sends 200 before it has assembled the parts, so a failure can arrive as an <Error>
  // document inside the 200.
  req.error_in_ok_body = true;
  req.accept = {404, 412};
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  // 412 and NoSuchUpload may both answer an earlier attempt of this very request that
  // completed the upload but whose answer was lost: then the object is ours.
  if (resp.status == 412 || resp.status == 404) {
    std::string found;
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> now, HeadObject(client, bucket, key, &found));
    if (now && found == write_id) return now->etag;
    if (!if_match.empty()) return ChangedSincePlannedAt(uri, if_match, now ? now->etag : "");
    if (resp.status == 412) {
      return Status::AlreadyExists(uri +
                                   ": already exists (create-only multipart upload refused by " +
                                   client.EndpointFor(bucket) + ": 412 PreconditionFailed)");
    }
    return client.Failure(req, resp);
  }
  pugi::xml_document doc;
  doc.load_buffer(resp.body.data(), resp.body.size());
  // By name of the root element only loosely: moto calls it CompleteMultipartUploadResponse.
  std::string etag = StripQuotes(doc.document_element().child_value("ETag"));
  if (etag.empty()) etag = StripQuotes(resp.Header("etag"));
  if (etag.empty()) {
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> now, HeadObject(client, bucket, key));
    if (now) etag = now->etag;
  }
  return etag;
}

// UploadPart number `number` of `length` bytes from `offset` of `payload`, with Content-MD5
// (and the signed SHA-256 where the client signs payloads; with `crc32`, the part's CRC-32 for an
// upload created with that checksum algorithm); an answered ETag that is an MD5 must be the one
// of the bytes sent.
Result<UploadedPart> UploadPart(S3Client& client, const std::string& bucket, const std::string& key,
                                const std::string& upload_id, int number, const Payload& payload,
                                int64_t offset, int64_t length, bool crc32 = false) {
  S3Request req;
  req.kind = RequestKind::kMultipartPart;
  req.method = "PUT";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  req.send_body = true;
  std::string md5;
  UploadedPart part;
  if (payload.fd < 0) {
    req.body = payload.data.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
    md5 = Md5(req.body);
  } else {
    // Hashing first reads the part once more (MD5, SHA-256 and CRC-32 in one pass), but keeps
    // memory flat: the upload then streams it from the (by now cached) file.
    std::string sha;
    const bool sign = client.options().sign_payload;
    LP_RETURN_IF_ERROR(DigestFileRange(payload.fd, payload.path, offset, length, &md5,
                                       sign ? &sha : nullptr, crc32 ? &part.crc32 : nullptr));
    if (sign) req.payload_hash = HexEncode(sha);
    req.body_fd = payload.fd;
    req.body_offset = offset;
    req.body_length = length;
    req.body_path = payload.path;
  }
  req.headers.emplace_back("Content-MD5", Base64Encode(md5));
  if (crc32) {
    if (payload.fd < 0) part.crc32 = Crc32(req.body);
    part.crc32_header = Crc32Header(part.crc32);
    req.headers.emplace_back("x-amz-checksum-crc32", part.crc32_header);
  }
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  std::string etag = resp.Header("etag");
  std::string bare = StripQuotes(etag);
  if (LooksLikeMd5(bare) && bare != HexEncode(md5) &&
      resp.Header("x-amz-server-side-encryption").rfind("aws:kms", 0) != 0) {
    return Status::Corruption(S3Client::UriOf(bucket, key) + ": part " + std::to_string(number) +
                              " answered ETag " + bare + ", but the MD5 of the bytes sent is " +
                              HexEncode(md5));
  }
  part.etag = etag.empty() ? "\"" + HexEncode(md5) + "\"" : etag;
  part.md5 = md5;
  return part;
}

}  // namespace

Result<ObjectInfo> MultipartUpload(S3Client& client, const std::string& bucket,
                                   const std::string& key, const Payload& payload,
                                   const PutOptions& options, bool crc32_checksums) {
  const std::string uri = S3Client::UriOf(bucket, key);
  const int64_t part_size = client.options().PartSizeFor(payload.size);
  const int64_t count = std::max<int64_t>(1, (payload.size + part_size - 1) / part_size);
  if (count > kMaxPartsPerUpload) {
    return Status::InvalidArgument(uri + ": " + std::to_string(payload.size) + " bytes need " +
                                   std::to_string(count) + " parts, more than S3's " +
                                   std::to_string(kMaxPartsPerUpload));
  }
  if (options.if_none_match) {
    // Not a guarantee (If-None-Match on Complete is), but it saves uploading gigabytes
    // only to be refused at the end.
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> existing, HeadObject(client, bucket, key));
    if (existing) return Status::AlreadyExists(uri + ": already exists (create-only write)");
  }
  LP_RETURN_IF_ERROR(CheckTag(uri, options.tag));
  LP_RETURN_IF_ERROR(CheckMetadata(uri, options.metadata));
  const std::string write_id = NewWriteId();
  const int64_t started_ns = NowNs();
  int attempts = 1;
  LP_ASSIGN_OR_RETURN(std::string upload_id,
                      CreateUpload(client, bucket, key, options.content_type, write_id, options.tag,
                                   &attempts, &options.metadata, crc32_checksums));
  // Whatever the outcome, an upload an earlier lost attempt created must not stay.
  StrayUploadGuard stray_guard(client, bucket, key, upload_id, started_ns, attempts > 1);

  std::vector<UploadedPart> parts(static_cast<size_t>(count));
  auto upload_part = [&](size_t i) -> Status {
    const int64_t offset = static_cast<int64_t>(i) * part_size;
    LP_ASSIGN_OR_RETURN(
        parts[i], UploadPart(client, bucket, key, upload_id, static_cast<int>(i + 1), payload,
                             offset, std::min(part_size, payload.size - offset), crc32_checksums));
    return Status::OK();
  };
  Status uploaded = ParallelFor(client.pool(), parts.size(), [&](size_t i) -> Status {
    Status st = upload_part(i);
    if (st.ok()) return st;
    return Status(st.code(), st.message() + " (part " + std::to_string(i + 1) + " of " +
                                 std::to_string(count) + ")");
  });
  if (!uploaded.ok()) return FailAndAbort(client, bucket, key, upload_id, uploaded);

  Result<std::string> etag = CompleteUpload(client, bucket, key, upload_id, parts, write_id,
                                            options.if_none_match, options.if_match);
  if (!etag.ok()) return FailAndAbort(client, bucket, key, upload_id, etag.status());
  ObjectInfo info;
  info.key = key;
  info.size = payload.size;
  info.etag = *etag;
  info.tag = options.tag;
  info.metadata = options.metadata;
  return info;
}

namespace {

// A multipart upload that follows a file while its writer appends to it (FollowFile). A thread
// of its own looks at the file's size every kPollEvery (or at once when Complete is called) and
// sends each whole part the file has grown by, through the client's pool; Complete sends the
// rest. Each part's CRC-32 is kept, and Complete reads the file once more to check that the
// bytes sent are still the file's: a writer that went back to patch earlier bytes, or replaced
// the file, turns the upload into "not followed" (aborted, std::nullopt), never a wrong object.
class FileFollower final : public FollowingUpload {
 public:
  FileFollower(S3Client& client, std::string bucket, std::string key, std::string path,
               PutOptions options)
      : client_(client),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        path_(std::move(path)),
        options_(std::move(options)),
        part_size_(client_.options().PartSizeFor(0)) {}

  ~FileFollower() override {
    StopFollowing();
    if (!upload_id_.empty() && !completed_) (void)AbortUpload(client_, bucket_, key_, upload_id_);
    if (stray_guard_) AbortStrayUploads(client_, bucket_, key_, upload_id_, started_ns_);
    if (fd_ >= 0) ::close(fd_);
  }

  Status Start() override {
    if (!upload_id_.empty() || completed_) {
      return Status::FailedPrecondition(S3Client::UriOf(bucket_, key_) + ": upload started twice");
    }
    write_id_ = NewWriteId();
    started_ns_ = NowNs();
    int attempts = 1;
    LP_ASSIGN_OR_RETURN(upload_id_,
                        CreateUpload(client_, bucket_, key_, options_.content_type, write_id_,
                                     options_.tag, &attempts, &options_.metadata,
                                     /*crc32=*/true));
    stray_guard_ = attempts > 1;
    follower_ = std::thread([this] { Follow(); });
    return Status::OK();
  }

  Result<std::optional<ObjectInfo>> Complete() override {
    if (completed_ || upload_id_.empty()) {
      return Status::FailedPrecondition(S3Client::UriOf(bucket_, key_) +
                                        ": upload completed twice");
    }
    StopFollowing();
    if (ChangedInFlight(failure_)) return NotFollowed(failure_.message());
    LP_RETURN_IF_ERROR(failure_);
    if (fd_ < 0) LP_RETURN_IF_ERROR(OpenFile());
    if (fd_ < 0 || !SameFile()) return NotFollowed("the file was replaced while it was sent");
    struct stat st;
    if (::fstat(fd_, &st) != 0) return PosixError("stat " + path_, errno);
    const int64_t size = st.st_size;
    if (size < sent_) return NotFollowed("the file shrank while it was sent");
    if (size == 0) return NotFollowed("the file is empty");
    // The rest: whole parts, then the last, shorter one.
    Status rest = SendParts(size, true);
    if (ChangedInFlight(rest)) return NotFollowed(rest.message());
    LP_RETURN_IF_ERROR(rest);
    for (size_t i = 0; i < parts_.size(); i++) {
      const int64_t offset = static_cast<int64_t>(i) * part_size_;
      LP_ASSIGN_OR_RETURN(
          uint32_t now, Crc32OfFileRange(fd_, path_, offset, std::min(part_size_, size - offset)));
      if (now != parts_[i].crc32) {
        return NotFollowed("part " + std::to_string(i + 1) + " changed after it was sent");
      }
    }
    Result<std::string> etag = CompleteUpload(client_, bucket_, key_, upload_id_, parts_, write_id_,
                                              options_.if_none_match);
    if (!etag.ok()) {
      Status cause = FailAndAbort(client_, bucket_, key_, upload_id_, etag.status());
      upload_id_.clear();
      return cause;
    }
    completed_ = true;
    ObjectInfo info;
    info.key = key_;
    info.size = size;
    info.etag = *etag;
    info.tag = options_.tag;
    info.metadata = options_.metadata;
    return std::optional<ObjectInfo>(std::move(info));
  }

 private:
  static constexpr std::chrono::milliseconds kPollEvery{20};

  void Follow() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      const bool last = stop_;
      lock.unlock();
      Status st = Status::OK();
      if (fd_ < 0) st = OpenFile();
      struct stat info;
      if (st.ok() && fd_ >= 0) {
        if (::fstat(fd_, &info) != 0) {
          st = PosixError("stat " + path_, errno);
        } else {
          st = SendParts(info.st_size, false);
        }
      }
      lock.lock();
      if (!st.ok()) {
        failure_ = st;
        return;
      }
      if (last) return;
      cv_.wait_for(lock, kPollEvery, [this] { return stop_; });
    }
  }

  void StopFollowing() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (follower_.joinable()) follower_.join();
  }

  // Opens the file once it exists (the writer may not have created it yet).
  Status OpenFile() {
    int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? Status::OK() : PosixError("open " + path_, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      Status e = PosixError("stat " + path_, errno);
      ::close(fd);
      return e;
    }
    fd_ = fd;
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return Status::OK();
  }

  bool SameFile() const {
    struct stat st;
    return ::stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_;
  }

  // Sends the parts of [sent_, size) that are whole, and with `last` the shorter one at the end.
  Status SendParts(int64_t size, bool last) {
    std::vector<int64_t> offsets;
    for (int64_t at = sent_; at < size && (last || at + part_size_ <= size); at += part_size_) {
      offsets.push_back(at);
    }
    if (offsets.empty()) return Status::OK();
    if (parts_.size() + offsets.size() > static_cast<size_t>(kMaxPartsPerUpload)) {
      return Status::InvalidArgument(
          fmt::format("{}: {} grew past {} parts of {} bytes while it was sent",
                      S3Client::UriOf(bucket_, key_), path_, kMaxPartsPerUpload, part_size_));
    }
    const size_t first = parts_.size();
    parts_.resize(first + offsets.size());
    Payload file;
    file.fd = fd_;
    file.path = path_;
    file.size = size;
    Status st = ParallelFor(client_.pool(), offsets.size(), [&](size_t k) -> Status {
      const int64_t offset = offsets[k];
      const int64_t length = std::min(part_size_, size - offset);
      LP_ASSIGN_OR_RETURN(parts_[first + k],
                          UploadPart(client_, bucket_, key_, upload_id_,
                                     static_cast<int>(first + k + 1), file, offset, length, true));
      return Status::OK();
    });
    if (!st.ok()) return st;
    sent_ = std::min(size, offsets.back() + part_size_);
    return Status::OK();
  }

  // A part whose bytes did not arrive as they were hashed: the endpoint's ETag is another MD5
  // (Corruption), or it refused the Content-MD5 or checksum (BadDigest, a checksum mismatch).
  // When the file changed while curl read it, that is this; when the bytes were damaged on
  // the way, it may be too: either way the caller's whole-file write, which hashes and sends
  // everything again, is the safe answer.
  static bool ChangedInFlight(const Status& st) {
    if (st.ok()) return false;
    const std::string& m = st.message();
    return st.code() == StatusCode::kCorruption || m.find("BadDigest") != std::string::npos ||
           m.find("InvalidDigest") != std::string::npos ||
           m.find("ChecksumMismatch") != std::string::npos;
  }

  Result<std::optional<ObjectInfo>> NotFollowed(const std::string& why) {
    if (client_.options().debug) {
      std::fprintf(stderr, "lakepack s3: %s: not followed, written whole: %s\n",
                   S3Client::UriOf(bucket_, key_).c_str(), why.c_str());
    }
    (void)AbortUpload(client_, bucket_, key_, upload_id_);
    upload_id_.clear();
    return std::optional<ObjectInfo>();
  }

  S3Client& client_;
  const std::string bucket_;
  const std::string key_;
  const std::string path_;
  const PutOptions options_;
  const int64_t part_size_;
  std::string write_id_;
  std::string upload_id_;
  int64_t started_ns_ = 0;
  bool stray_guard_ = false;
  bool completed_ = false;
  // Written by the follower thread until it is joined; by Complete after.
  int fd_ = -1;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  int64_t sent_ = 0;
  std::vector<UploadedPart> parts_;
  std::thread follower_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  Status failure_;  // the follower's, guarded by mu_
};

}  // namespace

Result<std::unique_ptr<FollowingUpload>> FollowFile(S3Client& client, const std::string& bucket,
                                                    const std::string& key,
                                                    const std::string& local_path,
                                                    const PutOptions& options) {
  const std::string uri = S3Client::UriOf(bucket, key);
  if (!options.if_none_match || !options.if_match.empty()) {
    return Status::InvalidArgument(uri + ": a followed upload is create-only");
  }
  LP_RETURN_IF_ERROR(CheckTag(uri, options.tag));
  LP_RETURN_IF_ERROR(CheckMetadata(uri, options.metadata));
  return std::unique_ptr<FollowingUpload>(
      std::make_unique<FileFollower>(client, bucket, key, local_path, options));
}

Result<bool> CompleteIfNoneMatchRefused(S3Client& client, const std::string& bucket,
                                        const std::string& key, std::string_view body) {
  const std::string write_id = NewWriteId();
  LP_ASSIGN_OR_RETURN(std::string upload_id, CreateUpload(client, bucket, key, "", write_id));
  S3Request part;
  part.kind = RequestKind::kMultipartPart;
  part.method = "PUT";
  part.bucket = bucket;
  part.key = key;
  part.query = {{"partNumber", "1"}, {"uploadId", upload_id}};
  part.send_body = true;
  part.body = body;
  const std::string md5 = Md5(body);
  part.headers.emplace_back("Content-MD5", Base64Encode(md5));
  Result<HttpResponse> sent = client.Execute(part);
  if (!sent.ok()) return FailAndAbort(client, bucket, key, upload_id, sent.status());
  std::string etag = sent->Header("etag");
  std::vector<UploadedPart> parts{{etag.empty() ? "\"" + HexEncode(md5) + "\"" : etag, md5}};
  Result<std::string> completed =
      CompleteUpload(client, bucket, key, upload_id, parts, write_id, true);
  if (completed.ok()) return false;
  Status cause = completed.status();
  (void)AbortUpload(client, bucket, key, upload_id);
  if (cause.IsAlreadyExists()) return true;
  return cause;
}

Status MultipartCopy(S3Client& client, const std::string& bucket, const std::string& from,
                     const std::string& to, int64_t size, const std::string& tag) {
  const int64_t part_size = client.options().PartSizeFor(size);
  const int64_t count = std::max<int64_t>(1, (size + part_size - 1) / part_size);
  const std::string write_id = NewWriteId();
  const int64_t started_ns = NowNs();
  int attempts = 1;
  LP_ASSIGN_OR_RETURN(std::string upload_id,
                      CreateUpload(client, bucket, to, "", write_id, tag, &attempts));
  StrayUploadGuard stray_guard(client, bucket, to, upload_id, started_ns, attempts > 1);
  const std::string source = "/" + UriEncode(bucket, false) + "/" + UriEncode(from, true);
  std::vector<UploadedPart> parts(static_cast<size_t>(count));
  Status copied = ParallelFor(client.pool(), parts.size(), [&](size_t i) -> Status {
    const int64_t offset = static_cast<int64_t>(i) * part_size;
    const int64_t length = std::min(part_size, size - offset);
    S3Request req;
    req.kind = RequestKind::kMultipartPart;
    req.method = "PUT";
    req.bucket = bucket;
    req.key = to;
    req.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
    req.send_body = true;  // empty, but S3 wants its Content-Length: 0
    req.headers.emplace_back("x-amz-copy-source", source);
    if (length > 0) {
      req.headers.emplace_back("x-amz-copy-source-range", "bytes=" + std::to_string(offset) + "-" +
                                                              std::to_string(offset + length - 1));
    }
    req.error_in_ok_body = true;
    LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
    pugi::xml_document doc;
    doc.load_buffer(resp.body.data(), resp.body.size());
    parts[i].etag = doc.document_element().child_value("ETag");
    if (parts[i].etag.empty()) {
      return Status::Corruption(S3Client::UriOf(bucket, to) + ": UploadPartCopy of part " +
                                std::to_string(i + 1) + " answered no ETag");
    }
    return Status::OK();
  });
  if (!copied.ok()) return FailAndAbort(client, bucket, to, upload_id, copied);
  Result<std::string> etag = CompleteUpload(client, bucket, to, upload_id, parts, write_id, false);
  if (!etag.ok()) return FailAndAbort(client, bucket, to, upload_id, etag.status());
  return Status::OK();
}

}  // namespace lakepack::s3
