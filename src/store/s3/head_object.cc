// HeadObject: size, ETag, modification time and tag of one object, or nothing.
#include <random>
#include <thread>

#include "store/s3/operations.h"

namespace lakepack::s3 {

std::string NewWriteId() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   (static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                   std::hash<std::thread::id>()(std::this_thread::get_id()));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

Result<bool> WriteIdMatches(S3Client& client, const std::string& bucket, const std::string& key,
                            const std::string& write_id) {
  std::string found;
  LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, HeadObject(client, bucket, key, &found));
  return info.has_value() && !write_id.empty() && found == write_id;
}

Result<std::optional<ObjectInfo>> HeadObject(S3Client& client, const std::string& bucket,
                                             const std::string& key, std::string* write_id) {
  S3Request req;
  req.kind = RequestKind::kHead;
  req.method = "HEAD";
  req.bucket = bucket;
  req.key = key;
  // HEAD answers carry no body, so a missing bucket looks like a missing key here.
  req.accept = {403, 404};
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (resp.status == 404) return std::optional<ObjectInfo>();
  if (resp.status == 403) {
    // A bare 403 does not say whether the key id, the signature or a policy is wrong; a
    // one-byte GET of the same object fetches S3's error document that does.
    S3Request probe = req;
    probe.kind = RequestKind::kGet;
    probe.method = "GET";
    probe.headers.emplace_back("Range", "bytes=0-0");
    probe.accept = {403};
    Result<HttpResponse> detail = client.Execute(probe);
    if (detail.ok() && detail->status == 403 && !detail->body.empty()) {
      return client.Failure(req, *detail);
    }
    return client.Failure(req, resp);
  }
  ObjectInfo info;
  info.key = key;
  info.size = std::strtoll(resp.Header("content-length").c_str(), nullptr, 10);
  info.etag = StripQuotes(resp.Header("etag"));
  info.mtime_ns = ParseHttpDateNs(resp.Header("last-modified"));
  info.tag = resp.Header(std::string(kTagHeader));
  for (const auto& [name, value] : resp.headers) {
    if (name.rfind(kMetadataHeaderPrefix, 0) != 0 || name == kTagHeader || name == kWriteIdHeader) {
      continue;
    }
    info.metadata.emplace_back(name.substr(kMetadataHeaderPrefix.size()), value);
  }
  if (write_id != nullptr) *write_id = resp.Header(std::string(kWriteIdHeader));
  return std::optional<ObjectInfo>(std::move(info));
}

void AddMetadataHeaders(const std::vector<std::pair<std::string, std::string>>& metadata,
                        KeyValues& headers) {
  for (const auto& [name, value] : metadata) {
    headers.emplace_back(std::string(kMetadataHeaderPrefix) + name, value);
  }
}

}  // namespace lakepack::s3
