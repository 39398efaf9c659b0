// Multipart upload (CreateMultipartUpload, UploadPart in parallel, CompleteMultipartUpload)
// and the part-by-part copy for objects too large for CopyObject. Every failure after the
// upload was created aborts it, so no orphan parts stay behind to be billed.
#include <pugixml.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <sstream>

#include "store/s3/crypto.h"
#include "store/s3/errors.h"
#include "store/s3/operations.h"
#include "store/store_util.h"

namespace lakepack::s3 {

namespace {

struct UploadedPart {
  std::string etag;  // as S3 returned it, quotes included
  std::string md5;   // raw; empty for copied parts
};

// CreateMultipartUpload. *attempts (when given) receives how many attempts it took: more
// than one means an earlier attempt may have created an upload whose answer was lost.
Result<std::string> CreateUpload(
    S3Client& client, const std::string& bucket, const std::string& key,
    const std::string& content_type, const std::string& write_id, const std::string& tag = "",
    int* attempts = nullptr,
    const std::vector<std::pair<std::string, std::string>>* metadata = nullptr) {
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

}  // namespace

Result<ObjectInfo> MultipartUpload(S3Client& client, const std::string& bucket,
                                   const std::string& key, const Payload& payload,
                                   const PutOptions& options) {
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
                                   &attempts, &options.metadata));
  // Whatever the outcome, an upload an earlier lost attempt created must not stay.
  StrayUploadGuard stray_guard(client, bucket, key, upload_id, started_ns, attempts > 1);

  std::vector<UploadedPart> parts(static_cast<size_t>(count));
  auto upload_part = [&](size_t i) -> Status {
    const int64_t offset = static_cast<int64_t>(i) * part_size;
    const int64_t length = std::min(part_size, payload.size - offset);
    S3Request req;
    req.kind = RequestKind::kMultipartPart;
    req.method = "PUT";
    req.bucket = bucket;
    req.key = key;
    req.query = {{"partNumber", std::to_string(i + 1)}, {"uploadId", upload_id}};
    req.send_body = true;
    std::string md5;
    if (payload.fd < 0) {
      req.body = payload.data.substr(static_cast<size_t>(offset), static_cast<size_t>(length));
      md5 = Md5(req.body);
    } else {
      // Hashing first reads the part once more, but keeps memory flat: the upload then
      // streams it from the (by now cached) file instead of from a buffer.
      std::string sha;
      const bool sign = client.options().sign_payload;
      LP_RETURN_IF_ERROR(
          DigestFileRange(payload.fd, payload.path, offset, length, &md5, sign ? &sha : nullptr));
      if (sign) req.payload_hash = HexEncode(sha);
      req.body_fd = payload.fd;
      req.body_offset = offset;
      req.body_length = length;
      req.body_path = payload.path;
    }
    req.headers.emplace_back("Content-MD5", Base64Encode(md5));
    Result<HttpResponse> resp = client.Execute(req);
    if (!resp.ok()) return resp.status();
    std::string etag = resp->Header("etag");
    std::string bare = StripQuotes(etag);
    if (LooksLikeMd5(bare) && bare != HexEncode(md5) &&
        resp->Header("x-amz-server-side-encryption").rfind("aws:kms", 0) != 0) {
      return Status::Corruption(uri + ": part " + std::to_string(i + 1) + " answered ETag " + bare +
                                ", but the MD5 of the bytes sent is " + HexEncode(md5));
    }
    parts[i].etag = etag.empty() ? "\"" + HexEncode(md5) + "\"" : etag;
    parts[i].md5 = md5;
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
