// EnsureBucket: HeadBucket, and CreateBucket when it is missing (watch's "the bucket is created
// if it does not exist").
#include <fmt/format.h>

#include "store/s3/errors.h"
#include "store/s3/operations.h"

namespace lakepack::s3 {

Status EnsureBucket(S3Client& client, const std::string& bucket, bool* created) {
  if (created != nullptr) *created = false;
  S3Request head;
  head.kind = RequestKind::kHead;
  head.method = "HEAD";
  head.bucket = bucket;
  head.accept = {404};
  LP_ASSIGN_OR_RETURN(HttpResponse found, client.Execute(head));
  if (found.status != 404) return Status::OK();

  S3Request put;
  put.kind = RequestKind::kPut;
  put.method = "PUT";
  put.bucket = bucket;
  put.send_body = true;
  // Outside us-east-1, S3 wants the region named in the body.
  std::string body;
  const std::string& region = client.options().region;
  if (!region.empty() && region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
        region);
    put.body = body;
  }
  // 409 BucketAlreadyOwnedByYou: another run made it first, which is what we wanted. Ceph RGW
  // answers BucketAlreadyExists to the loser of two creates at once by the same user (two
  // watchers starting together): then the bucket is ours if a HEAD now finds it.
  put.accept = {409};
  LP_ASSIGN_OR_RETURN(HttpResponse made, client.Execute(put));
  if (made.status == 409) {
    S3Error error = ParseS3Error(made.body);
    if (error.code == "BucketAlreadyOwnedByYou") return Status::OK();
    if (error.code == "BucketAlreadyExists") {
      LP_ASSIGN_OR_RETURN(HttpResponse now, client.Execute(head));
      if (now.status / 100 == 2) return Status::OK();
    }
    return client.Failure(put, made);
  }
  if (created != nullptr) *created = true;
  return Status::OK();
}

}  // namespace lakepack::s3
