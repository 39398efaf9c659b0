// ListMultipartUploads (all pages) and AbortMultipartUpload: the uploads that were started
// and never completed, and the way to get rid of one.
#include <pugixml.hpp>

#include "store/s3/errors.h"
#include "store/s3/operations.h"
#include "store/s3/sigv4.h"

namespace lakepack::s3 {

Result<std::vector<PendingUpload>> ListMultipartUploads(S3Client& client, const std::string& bucket,
                                                        const std::string& prefix) {
  std::vector<PendingUpload> out;
  std::string key_marker, upload_id_marker;
  for (int page = 0;; ++page) {
    S3Request req;
    req.kind = RequestKind::kList;
    req.method = "GET";
    req.bucket = bucket;
    req.query = {{"uploads", ""}, {"encoding-type", "url"}};
    if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
    if (!key_marker.empty()) req.query.emplace_back("key-marker", key_marker);
    if (!upload_id_marker.empty()) req.query.emplace_back("upload-id-marker", upload_id_marker);
    // An endpoint without the call (s3rver answers MethodNotAllowed or NotImplemented) has no
    // uploads we could list or abort: none.
    req.accept = {405, 501};
    LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
    if (resp.status == 405 || resp.status == 501) return out;
    pugi::xml_document doc;
    doc.load_buffer(resp.body.data(), resp.body.size());
    pugi::xml_node root = doc.document_element();
    // Anything else (s3rver answers a plain object listing) does not know the call either.
    if (std::string_view(root.name()) != "ListMultipartUploadsResult") return out;
    const bool encoded = std::string_view(root.child_value("EncodingType")) == "url";
    auto decode = [&](const char* text) {
      return encoded ? UriDecode(text, true) : std::string(text);
    };
    for (pugi::xml_node upload : root.children("Upload")) {
      PendingUpload pending;
      pending.key = decode(upload.child_value("Key"));
      pending.upload_id = upload.child_value("UploadId");
      pending.initiated_ns = ParseIso8601Ns(upload.child_value("Initiated"));
      // Some endpoints ignore prefix: filter here too.
      if (pending.key.compare(0, prefix.size(), prefix) != 0) continue;
      out.push_back(std::move(pending));
    }
    if (std::string_view(root.child_value("IsTruncated")) != "true") return out;
    std::string next_key = decode(root.child_value("NextKeyMarker"));
    std::string next_id = root.child_value("NextUploadIdMarker");
    if (next_key.empty() || (next_key == key_marker && next_id == upload_id_marker) ||
        page > 100000) {
      return Status::Corruption(S3Client::UriOf(bucket, prefix) +
                                ": ListMultipartUploads said there is more but gave no new marker");
    }
    key_marker = std::move(next_key);
    upload_id_marker = std::move(next_id);
  }
}

Status AbortMultipartUpload(S3Client& client, const std::string& bucket, const std::string& key,
                            const std::string& upload_id) {
  S3Request req;
  req.kind = RequestKind::kMultipartAbort;
  req.method = "DELETE";
  req.bucket = bucket;
  req.key = key;
  req.query = {{"uploadId", upload_id}};
  req.accept = {404};  // NoSuchUpload: already gone, which is what we want
  return client.Execute(req).status();
}

}  // namespace lakepack::s3
