// CopyObject: a server-side copy inside the bucket, falling back to a part-by-part copy for
// sources larger than S3 copies in one request.
#include <pugixml.hpp>

#include "store/s3/errors.h"
#include "store/s3/operations.h"

namespace lakepack::s3 {

Status CopyObject(S3Client& client, const std::string& bucket, const std::string& from,
                  const std::string& to) {
  if (from == to) {
    // S3 refuses to copy an object onto itself unless metadata changes; the copy's effect
    // (the object unchanged) is what the caller asked for anyway.
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, HeadObject(client, bucket, from));
    if (!info) return Status::NotFound(S3Client::UriOf(bucket, from) + ": no such object to copy");
    return Status::OK();
  }
  S3Request req;
  req.kind = RequestKind::kCopy;
  req.method = "PUT";
  req.bucket = bucket;
  req.key = to;
  req.send_body = true;  // empty, but S3 wants its Content-Length: 0
  req.headers.emplace_back("x-amz-copy-source",
                           "/" + UriEncode(bucket, false) + "/" + UriEncode(from, true));
  // The 200 status goes out before the copy is done, so a failure may come inside it.
  req.error_in_ok_body = true;
  req.accept = {400, 404};
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (resp.status == 404) {
    S3Error error = ParseS3Error(resp.body);
    if (error.code == "NoSuchBucket") return client.Failure(req, resp);
    return Status::NotFound(S3Client::UriOf(bucket, from) + ": no such object to copy to " +
                            S3Client::UriOf(bucket, to) + " (" +
                            (error.code.empty() ? "404" : error.code) + " from " +
                            client.EndpointFor(bucket) + ")");
  }
  if (resp.status == 400) {
    // "The specified copy source is larger than the maximum allowable size for a copy source"
    S3Error error = ParseS3Error(resp.body);
    if (error.code == "InvalidRequest" || error.code == "EntityTooLarge") {
      LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, HeadObject(client, bucket, from));
      if (info && info->size > kMaxSingleCopySize) {
        return MultipartCopy(client, bucket, from, to, info->size, info->tag);
      }
    }
    return client.Failure(req, resp);
  }
  return Status::OK();
}

}  // namespace lakepack::s3
