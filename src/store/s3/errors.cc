// Translation of libcurl errors and S3 error responses into Status, and the list of which
// ones are transient. Messages are one line and name the endpoint, bucket and key.
#include "store/s3/errors.h"

#include <curl/curl.h>

#include <pugixml.hpp>

namespace lakepack::s3 {

namespace {

// S3 error codes that clear up on their own (AWS SDKs retry the same list).
constexpr std::string_view kTransientCodes[] = {"InternalError",
                                                "SlowDown",
                                                "RequestTimeout",
                                                "ServiceUnavailable",
                                                "Throttling",
                                                "ThrottlingException",
                                                "ThrottledException",
                                                "RequestThrottled",
                                                "RequestLimitExceeded",
                                                "BandwidthLimitExceeded",
                                                "TooManyRequestsException",
                                                "RequestTimeoutException",
                                                "PriorRequestNotComplete",
                                                "OperationAborted",
                                                "ConditionalRequestConflict",
                                                "EC2ThrottledException",
                                                "IDPCommunicationError",
                                                "XMinioServerNotInitialized"};

std::string Describe(const HttpResponse& response, const S3Error& error) {
  if (!error.code.empty()) {
    std::string out = error.code;
    if (!error.message.empty()) out += ": " + error.message;
    return out;
  }
  std::string out = std::to_string(response.status);
  std::string_view reason = ReasonPhrase(response.status);
  if (!reason.empty()) out += " " + std::string(reason);
  if (!response.body.empty() && response.body.size() < 200 && !IsErrorDocument(response.body)) {
    out += " (" + OneLine(response.body) + ")";
  }
  return out;
}

}  // namespace

std::string OneLine(std::string_view text, size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max));
  for (char c : text) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 301:
      return "Moved Permanently";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 416:
      return "Range Not Satisfiable";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

Status CurlFailure(int code, std::string_view detail) {
  const std::string what = "curl error " + std::to_string(code) + ": " + OneLine(detail);
  switch (static_cast<CURLcode>(code)) {
    // The connection failed, dropped, or stalled: another attempt may well succeed.
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
      return Status::Retryable(what);
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Status::InvalidArgument(what);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
      return Status::IOError(what +
                             " (the server's TLS certificate could not be verified; set "
                             "AWS_CA_BUNDLE to the CA bundle that signs it)");
    default:
      return Status::IOError(what);
  }
}

S3Error ParseS3Error(std::string_view body) {
  S3Error error;
  pugi::xml_document doc;
  if (body.empty() || !doc.load_buffer(body.data(), body.size())) return error;
  pugi::xml_node root = doc.child("Error");
  if (!root) return error;
  error.code = root.child_value("Code");
  error.message = OneLine(root.child_value("Message"));
  error.request_id = root.child_value("RequestId");
  return error;
}

bool IsErrorDocument(std::string_view body) {
  // Cheap pre-check first: a 200 body is usually a large result document.
  if (body.find("<Error") == std::string_view::npos) return false;
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return false;
  return static_cast<bool>(doc.child("Error"));
}

bool IsTransientS3Error(int http_status, std::string_view code) {
  for (std::string_view transient : kTransientCodes) {
    if (code == transient) return true;
  }
  if (code == "NotImplemented") return false;
  // 501 Not Implemented and 505 HTTP Version Not Supported will not change by themselves.
  return (http_status >= 500 && http_status != 501 && http_status != 505) || http_status == 429;
}

Status S3Failure(const RequestContext& ctx, const HttpResponse& response, const S3Error& error) {
  const int status = response.status;
  const std::string what = Describe(response, error);
  if (IsTransientS3Error(status, error.code)) {
    return Status::Retryable(ctx.uri + ": " + ctx.op + " failed at " + ctx.endpoint + ": " + what);
  }
  const std::string refused = ctx.uri + ": " + ctx.op + " refused by " + ctx.endpoint + ": " + what;
  if (error.code == "NoSuchBucket") {
    return Status::NotFound(ctx.uri + ": bucket '" + ctx.bucket + "' does not exist at " +
                            ctx.endpoint + " (" + what + ")");
  }
  if (status == 301 || status == 307 || error.code == "PermanentRedirect" ||
      error.code == "AuthorizationHeaderMalformed" ||
      error.code == "IllegalLocationConstraintException") {
    std::string bucket_region = response.Header("x-amz-bucket-region");
    if (!bucket_region.empty() && bucket_region != ctx.region) {
      return Status::InvalidArgument(refused + " (bucket '" + ctx.bucket + "' is in region " +
                                     bucket_region + ", not " + ctx.region +
                                     ": set AWS_REGION=" + bucket_region + ")");
    }
    return Status::InvalidArgument(refused);
  }
  if (status == 401 || status == 403 || error.code == "InvalidAccessKeyId" ||
      error.code == "SignatureDoesNotMatch" || error.code == "AccessDenied" ||
      error.code == "ExpiredToken" || error.code == "InvalidToken") {
    std::string hint;
    if (ctx.anonymous) {
      hint =
          " (no credentials were found, so the request was not signed: set "
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)";
    } else if (ctx.op == "HEAD" && error.code.empty()) {
      hint = " (HEAD responses carry no error code: check the credentials and permissions)";
    }
    return Status::Unauthenticated(refused + hint);
  }
  if (status == 400 && ctx.op == "HEAD" && error.code.empty() && !ctx.anonymous) {
    // S3 answers a HEAD it refuses with a bare status: a 400 to a signed HEAD is how a
    // malformed or foreign session token (InvalidToken) or a wrong-region signature shows.
    return Status::Unauthenticated(
        refused + " (HEAD responses carry no error code; a 400 means the request's " +
        (ctx.session_token ? "session token (AWS_SESSION_TOKEN) or region was refused"
                           : "signature or region was refused: check AWS_REGION") +
        ")");
  }
  if (status == 404 || error.code == "NoSuchKey" || error.code == "NoSuchUpload") {
    return Status::NotFound(refused);
  }
  if (status == 416 || error.code == "InvalidRange") return Status::InvalidArgument(refused);
  if (status == 412 || error.code == "PreconditionFailed") {
    return Status::FailedPrecondition(refused);
  }
  if (status == 409 || status == 405 || status == 501 || error.code == "NotImplemented") {
    return Status::FailedPrecondition(refused);
  }
  if (status == 400) return Status::InvalidArgument(refused);
  return Status::IOError(refused);
}

}  // namespace lakepack::s3
