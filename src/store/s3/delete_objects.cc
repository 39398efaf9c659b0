// DeleteObjects: batches of up to kMaxDeleteBatch keys in one POST ?delete each, sent in
// parallel, with single DELETEs where an endpoint cannot take the batch form.
#include <pugixml.hpp>

#include <sstream>

#include "store/s3/crypto.h"
#include "store/s3/errors.h"
#include "store/s3/operations.h"

namespace lakepack::s3 {

namespace {

// XML 1.0 cannot carry most control characters, and parsers fold '\r' into '\n'; such keys
// can only be deleted one at a time.
bool FitsInXml(const std::string& key) {
  for (unsigned char c : key) {
    if (c < 0x20) return false;
  }
  return true;
}

Status DeleteOne(S3Client& client, const std::string& bucket, const std::string& key) {
  S3Request req;
  req.kind = RequestKind::kDelete;
  req.method = "DELETE";
  req.bucket = bucket;
  req.key = key;
  req.accept = {404};  // S3 answers 204 for a missing key; some servers answer 404
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (resp.status == 404 && ParseS3Error(resp.body).code == "NoSuchBucket") {
    return client.Failure(req, resp);
  }
  return Status::OK();
}

Status DeleteSingly(S3Client& client, const std::string& bucket,
                    const std::vector<std::string>& keys) {
  return ParallelFor(client.pool(), keys.size(),
                     [&](size_t i) { return DeleteOne(client, bucket, keys[i]); });
}

std::string BatchBody(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("Delete");
  root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
  root.append_child("Quiet").text().set("true");
  for (const std::string& key : keys) {
    root.append_child("Object").append_child("Key").text().set(key.c_str());
  }
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw);
  return out.str();
}

// Some S3-compatible servers (older Ceph RGW and NAS gateways, GCS's XML API) do not
// implement the multi-object POST ?delete: they answer 501 NotImplemented or 405, or take
// the body for something else and answer 400 MalformedXML/InvalidRequest. A DELETE per key
// is slower but works everywhere.
bool RefusesBatch(const HttpResponse& resp) {
  if (resp.status == 501 || resp.status == 405) return true;
  std::string code = ParseS3Error(resp.body).code;
  return code == "NotImplemented" || code == "MalformedXML" || code == "InvalidRequest" ||
         code == "MethodNotAllowed";
}

Status DeleteBatch(S3Client& client, const std::string& bucket,
                   const std::vector<std::string>& keys) {
  if (client.batch_delete_refused()) return DeleteSingly(client, bucket, keys);
  const std::string body = BatchBody(keys);
  S3Request req;
  req.kind = RequestKind::kDelete;
  req.method = "POST";
  req.bucket = bucket;
  req.query = {{"delete", ""}};
  req.send_body = true;
  req.body = body;
  req.headers.emplace_back("Content-MD5", Base64Encode(Md5(body)));  // S3 requires it here
  req.headers.emplace_back("Content-Type", "application/xml");
  req.accept = {400, 405, 501};
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (resp.status >= 400) {
    if (!RefusesBatch(resp)) return client.Failure(req, resp);
    client.set_batch_delete_refused();
    return DeleteSingly(client, bucket, keys);
  }
  // Quiet mode: the answer lists only the keys that failed.
  pugi::xml_document doc;
  if (!doc.load_buffer(resp.body.data(), resp.body.size())) {
    return Status::Corruption(S3Client::UriOf(bucket, "") + ": DeleteObjects answer from " +
                              client.EndpointFor(bucket) + " is not valid XML");
  }
  for (pugi::xml_node e = doc.child("DeleteResult").child("Error"); e;
       e = e.next_sibling("Error")) {
    std::string code = e.child_value("Code");
    if (code == "NoSuchKey") continue;
    const std::string msg = S3Client::UriOf(bucket, e.child_value("Key")) + ": DELETE refused by " +
                            client.EndpointFor(bucket) + ": " + code + ": " +
                            OneLine(e.child_value("Message"));
    if (code == "AccessDenied") return Status::Unauthenticated(msg);
    if (IsTransientS3Error(0, code)) return Status::Retryable(msg);
    return Status::IOError(msg);
  }
  return Status::OK();
}

}  // namespace

Status DeleteObjects(S3Client& client, const std::string& bucket,
                     const std::vector<std::string>& keys) {
  std::vector<std::string> batchable;
  std::vector<std::string> single;
  for (const std::string& key : keys) (FitsInXml(key) ? batchable : single).push_back(key);
  std::vector<std::vector<std::string>> batches;
  for (size_t i = 0; i < batchable.size(); i += kMaxDeleteBatch) {
    batches.emplace_back(batchable.begin() + static_cast<ptrdiff_t>(i),
                         batchable.begin() + static_cast<ptrdiff_t>(
                                                 std::min(batchable.size(), i + kMaxDeleteBatch)));
  }
  LP_RETURN_IF_ERROR(ParallelFor(client.pool(), batches.size(), [&](size_t i) {
    return DeleteBatch(client, bucket, batches[i]);
  }));
  return DeleteSingly(client, bucket, single);
}

}  // namespace lakepack::s3
