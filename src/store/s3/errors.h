// The one place where the outside world's failures become Status values: libcurl's error
// codes, and S3's HTTP statuses and XML error bodies. Also decides which failures are
// transient (StatusCode::kRetryable). Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "lakepack/status.h"
#include "store/s3/http.h"

namespace lakepack::s3 {

//! A libcurl failure (CURLcode `code`, with curl's own detail text) as a Status: kRetryable
//! for dropped, refused or timed-out connections and bodies cut short; InvalidArgument for
//! malformed URLs; IOError otherwise (TLS failures name AWS_CA_BUNDLE).
Status CurlFailure(int code, std::string_view detail);

//! S3's <Error> document.
struct S3Error {
  std::string code;     // "NoSuchKey", "SignatureDoesNotMatch", ...; "" when there was none
  std::string message;  // S3's human text, flattened to one line
  std::string request_id;
};

//! Parses an <Error> body (or returns an empty S3Error when the body is not one).
S3Error ParseS3Error(std::string_view body);

//! True when `body` is an <Error> document: CopyObject and CompleteMultipartUpload can fail
//! after answering 200 (the status line is sent before the work ends).
bool IsErrorDocument(std::string_view body);

//! Whether an HTTP status with an S3 error code is worth trying again: 5xx, 429, and the
//! codes S3 documents as transient (SlowDown, RequestTimeout, InternalError, ...).
bool IsTransientS3Error(int http_status, std::string_view code);

//! What a failed request was, for messages.
struct RequestContext {
  std::string uri;       // "s3://bucket/key" or "s3://bucket"
  std::string op;        // "GET", "PUT", "LIST", ...
  std::string endpoint;  // "http://127.0.0.1:9000"
  std::string bucket;
  std::string region;
  bool anonymous = false;
  bool session_token = false;  // the request carried X-Amz-Security-Token
};

//! A failed S3 response as one line, e.g. "s3://bkt/key: PUT refused by
//! http://127.0.0.1:9000: SignatureDoesNotMatch: The request signature we calculated ...".
//! 403 → Unauthenticated; NoSuchBucket → NotFound naming the bucket; 404 → NotFound;
//! 416 → InvalidArgument; 412 → FailedPrecondition; transient ones → Retryable.
Status S3Failure(const RequestContext& context, const HttpResponse& response, const S3Error& error);

//! "Not Found" for 404, ... ("" for unknown statuses).
std::string_view ReasonPhrase(int http_status);

//! Flattens text to one line (newlines and tabs become spaces) and caps its length.
std::string OneLine(std::string_view text, size_t max = 400);

}  // namespace lakepack::s3
