// PutObject (one request, Content-MD5, optional If-None-Match: * or If-Match) and Upload,
// which picks between it and a multipart upload.
#include "store/s3/crypto.h"
#include "store/s3/errors.h"
#include "store/s3/operations.h"
#include "store/store_util.h"

namespace lakepack::s3 {

namespace {

// With SSE-KMS or SSE-C the ETag is not the MD5 of the content, even for a single part.
bool EtagIsNotMd5(const HttpResponse& resp) {
  std::string sse = resp.Header("x-amz-server-side-encryption");
  return sse.rfind("aws:kms", 0) == 0 ||
         !resp.Header("x-amz-server-side-encryption-customer-algorithm").empty();
}

}  // namespace

Status CheckTag(const std::string& uri, std::string_view tag) {
  // It travels as an HTTP header value: printable ASCII, no surrounding blanks.
  if (tag.size() > 256) {
    return Status::InvalidArgument(uri + ": object tag of " + std::to_string(tag.size()) +
                                   " bytes is longer than 256");
  }
  for (char c : tag) {
    if (c < 0x21 || c > 0x7e) {
      return Status::InvalidArgument(uri + ": object tag '" + std::string(tag) +
                                     "' may hold only printable ASCII without blanks");
    }
  }
  return Status::OK();
}

Result<ObjectInfo> PutObject(S3Client& client, const std::string& bucket, const std::string& key,
                             const Payload& payload, const PutOptions& options) {
  const std::string uri = S3Client::UriOf(bucket, key);
  LP_RETURN_IF_ERROR(CheckTag(uri, options.tag));
  LP_RETURN_IF_ERROR(CheckMetadata(uri, options.metadata));
  if (options.if_none_match && !options.if_match.empty()) {
    return Status::InvalidArgument(uri +
                                   ": a write cannot be both create-only (if_none_match) and "
                                   "compare-and-swap (if_match)");
  }
  S3Request req;
  req.kind = RequestKind::kPut;
  req.method = "PUT";
  req.bucket = bucket;
  req.key = key;
  req.send_body = true;
  std::string md5;
  if (payload.fd < 0) {
    md5 = Md5(payload.data);
    req.body = payload.data;
  } else {
    std::string sha;
    const bool sign = client.options().sign_payload;
    LP_RETURN_IF_ERROR(
        DigestFileRange(payload.fd, payload.path, 0, payload.size, &md5, sign ? &sha : nullptr));
    if (sign) req.payload_hash = HexEncode(sha);
    req.body_fd = payload.fd;
    req.body_length = payload.size;
    req.body_path = payload.path;
  }
  const std::string md5_hex = HexEncode(md5);
  req.headers.emplace_back("Content-MD5", Base64Encode(md5));
  if (!options.content_type.empty()) req.headers.emplace_back("Content-Type", options.content_type);
  if (!options.tag.empty()) req.headers.emplace_back(std::string(kTagHeader), options.tag);
  AddMetadataHeaders(options.metadata, req.headers);
  std::string write_id;
  if (options.if_none_match) {
    req.headers.emplace_back("If-None-Match", "*");
    write_id = NewWriteId();
    req.headers.emplace_back(std::string(kWriteIdHeader), write_id);
    req.accept = {412};
  } else if (!options.if_match.empty()) {
    req.headers.emplace_back("If-Match", client.IfMatchValue(options.if_match));
    write_id = NewWriteId();
    req.headers.emplace_back(std::string(kWriteIdHeader), write_id);
    // AWS answers 404 when the key is absent, RGW 412.
    req.accept = {404, 412};
  }
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));

  if (!options.if_match.empty() && (resp.status == 412 || resp.status == 404)) {
    // As for create-only: the refusal may answer our own earlier attempt that landed.
    std::string found;
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> now, HeadObject(client, bucket, key, &found));
    if (!now) return ChangedSincePlannedAt(uri, options.if_match, "");
    if (found != write_id) return ChangedSincePlannedAt(uri, options.if_match, now->etag);
    ObjectInfo info = *now;
    info.key = key;
    return info;
  }
  if (resp.status == 412) {
    // The 412 may answer an earlier attempt of this very request that landed but whose
    // answer was lost (our retry, or curl resending on a connection that died).
    LP_ASSIGN_OR_RETURN(bool ours, WriteIdMatches(client, bucket, key, write_id));
    if (!ours) {
      return Status::AlreadyExists(uri + ": already exists (create-only PUT refused by " +
                                   client.EndpointFor(bucket) + ": 412 PreconditionFailed)");
    }
  }
  ObjectInfo info;
  info.key = key;
  info.size = payload.size;
  info.tag = options.tag;
  info.metadata = options.metadata;
  info.etag = StripQuotes(resp.Header("etag"));
  if (info.etag.empty()) info.etag = md5_hex;
  if (LooksLikeMd5(info.etag) && !EtagIsNotMd5(resp) && info.etag != md5_hex) {
    return Status::Corruption(uri + ": PUT answered ETag " + info.etag +
                              ", but the MD5 of the bytes sent is " + md5_hex);
  }
  return info;
}

Result<ObjectInfo> Upload(S3Client& client, const std::string& bucket, const std::string& key,
                          const Payload& payload, const PutOptions& options,
                          const EndpointConditions& conditions) {
  if (payload.size > kMaxObjectSize) {
    return Status::InvalidArgument(S3Client::UriOf(bucket, key) + ": " +
                                   std::to_string(payload.size) +
                                   " bytes is more than S3's largest object (5 TiB)");
  }
  const bool conditional = options.if_none_match || !options.if_match.empty();
  const bool large = payload.size >= client.options().multipart_threshold;
  // A condition must hold on the path the bytes take: create-only writes go up in parts only
  // where the endpoint enforces If-None-Match on completion; compare-and-swaps go as one PUT.
  const bool multipart =
      !conditional ? large
                   : payload.size > kMaxSinglePutSize ||
                         (options.if_none_match && conditions.create_only_multipart && large);
  if (!options.if_match.empty() && (!conditions.if_match || multipart)) {
    // The endpoint does not enforce If-Match (or not on the multipart path): check just
    // before the write. Another writer can still slip in between the HEAD and the PUT.
    const std::string uri = S3Client::UriOf(bucket, key);
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> now, HeadObject(client, bucket, key));
    if (!now) return ChangedSincePlannedAt(uri, options.if_match, "");
    if (now->etag != options.if_match) {
      return ChangedSincePlannedAt(uri, options.if_match, now->etag);
    }
    if (!conditions.if_match) {
      PutOptions unconditional = options;
      unconditional.if_match.clear();
      if (multipart) {
        return MultipartUpload(client, bucket, key, payload, unconditional,
                               conditions.crc32_checksums);
      }
      return PutObject(client, bucket, key, payload, unconditional);
    }
  }
  if (multipart) {
    return MultipartUpload(client, bucket, key, payload, options, conditions.crc32_checksums);
  }
  return PutObject(client, bucket, key, payload, options);
}

}  // namespace lakepack::s3
