// S3Client: addressing, signing, the retry loop and the request counters shared by every S3
// operation (one operation per file beside this one).
#include "store/s3/s3_client.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "common/crash_point.h"
#include "store/s3/crypto.h"
#include "store/s3/errors.h"

namespace lakepack::s3 {

namespace {

constexpr size_t kMinScrubLength = 8;

// Retries are seldom many, so the give-up note has room for the elapsed time.
std::string Seconds(std::chrono::steady_clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f",
                std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 1000.0);
  return buf;
}

// The query as sent on the wire: the canonical form, but a parameter without a value goes as
// "uploads" rather than "uploads=" (both mean the same to S3; the bare form is what the AWS
// SDKs send, and some S3-compatible servers only recognise that one).
std::string WireQuery(const KeyValues& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) {
    encoded.emplace_back(UriEncode(name, false), UriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    out += out.empty() ? '?' : '&';
    out += name;
    if (!value.empty()) out += '=' + value;
  }
  return out;
}

}  // namespace

std::string_view RequestKindName(RequestKind kind) {
  switch (kind) {
    case RequestKind::kGet:
      return "GET";
    case RequestKind::kPut:
      return "PUT";
    case RequestKind::kList:
      return "LIST";
    case RequestKind::kHead:
      return "HEAD";
    case RequestKind::kCopy:
      return "COPY";
    case RequestKind::kDelete:
      return "DELETE";
    case RequestKind::kMultipartCreate:
      return "MULTIPART_CREATE";
    case RequestKind::kMultipartPart:
      return "MULTIPART_PART";
    case RequestKind::kMultipartComplete:
      return "MULTIPART_COMPLETE";
    case RequestKind::kMultipartAbort:
      return "MULTIPART_ABORT";
    case RequestKind::kCount_:
      break;
  }
  return "OTHER";
}

Result<std::shared_ptr<S3Client>> S3Client::Make(S3Options options) {
  LP_RETURN_IF_ERROR(options.Validate());
  return std::shared_ptr<S3Client>(new S3Client(std::move(options)));
}

S3Client::S3Client(S3Options options)
    : options_(std::move(options)),
      retry_(options_.Retry()),
      http_(HttpSettings{options_.connect_timeout_ms, options_.idle_timeout_s, options_.ca_bundle}),
      in_flight_(options_.concurrency),
      pool_(options_.concurrency) {
  std::string endpoint = options_.endpoint.empty() ? options_.AwsEndpoint() : options_.endpoint;
  size_t sep = endpoint.find("://");
  scheme_ = endpoint.substr(0, sep);
  for (char& c : scheme_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  host_ = endpoint.substr(sep + 3);
  while (!host_.empty() && host_.back() == '/') host_.pop_back();
}

S3Client::~S3Client() = default;

std::string S3Client::UriOf(std::string_view bucket, std::string_view key) {
  std::string uri = "s3://" + std::string(bucket);
  if (!key.empty()) uri += "/" + std::string(key);
  return uri;
}

std::string S3Client::EndpointFor(std::string_view bucket) const {
  if (bucket.empty() || options_.UsePathStyle(bucket) || IsIpHost(host_)) {
    return scheme_ + "://" + host_;
  }
  return scheme_ + "://" + std::string(bucket) + "." + host_;
}

S3Client::Target S3Client::TargetFor(const S3Request& request) const {
  Target t;
  const bool path_style =
      request.bucket.empty() || options_.UsePathStyle(request.bucket) || IsIpHost(host_);
  t.host = path_style ? host_ : request.bucket + "." + host_;
  if (path_style) {
    t.encoded_path = "/" + UriEncode(request.bucket, false);
    if (!request.key.empty()) t.encoded_path += "/" + UriEncode(request.key, true);
  } else {
    t.encoded_path = "/" + UriEncode(request.key, true);
  }
  t.url = scheme_ + "://" + t.host + t.encoded_path + WireQuery(request.query);
  return t;
}

std::string S3Client::Scrub(std::string text) const {
  for (const std::string* secret :
       {&options_.credentials.secret_access_key, &options_.credentials.session_token}) {
    // Short "secrets" (moto's "test") are words that occur in ordinary text; scrubbing them
    // would garble messages while protecting nothing. Real keys are 40 characters.
    if (secret->size() < kMinScrubLength) continue;
    for (size_t pos = text.find(*secret); pos != std::string::npos; pos = text.find(*secret, pos)) {
      text.replace(pos, secret->size(), "<redacted>");
    }
  }
  return text;
}

Status S3Client::Scrub(const Status& status) const {
  if (status.ok()) return status;
  return Status(status.code(), Scrub(status.message()));
}

void S3Client::Debug(const std::string& line) const {
  if (!options_.debug) return;
  std::fprintf(stderr, "lakepack s3: %s\n", Scrub(line).c_str());
}

Status S3Client::Failure(const S3Request& request, const HttpResponse& response) const {
  RequestContext ctx;
  ctx.uri = UriOf(request.bucket, request.key);
  ctx.op = std::string(RequestKindName(request.kind));
  ctx.endpoint = EndpointFor(request.bucket);
  ctx.bucket = request.bucket;
  ctx.region = options_.region;
  ctx.anonymous = options_.credentials.anonymous();
  ctx.session_token = !options_.credentials.session_token.empty();
  return Scrub(S3Failure(ctx, response, ParseS3Error(response.body)));
}

Result<HttpResponse> S3Client::Attempt(const S3Request& request, const Target& target,
                                       const std::string& payload_hash) {
  RequestToSign to_sign;
  to_sign.method = request.method;
  to_sign.encoded_path = target.encoded_path;
  to_sign.query = request.query;
  to_sign.headers = request.headers;
  to_sign.headers.emplace_back("Host", target.host);
  to_sign.payload_hash = payload_hash;
  SigningTrace trace;
  SignV4(options_.credentials, options_.region, "s3", std::time(nullptr), &to_sign,
         options_.debug ? &trace : nullptr);

  HttpRequest http;
  http.method = request.method;
  http.url = target.url;
  http.headers = std::move(to_sign.headers);
  http.send_body = request.send_body;
  http.body = request.body;
  http.body_fd = request.body_fd;
  http.body_offset = request.body_offset;
  http.body_length = request.body_length;
  http.body_path = request.body_path;
  http.sink_fd = request.sink_fd;
  http.sink_offset = request.sink_offset;
  http.sink_path = request.sink_path;
  http.check_headers = request.check_headers;

  requests_[static_cast<size_t>(request.kind)]++;
  in_flight_.acquire();
  Result<HttpResponse> result = http_.Send(http);
  in_flight_.release();

  if (options_.debug) {
    Debug(request.method + " " + target.url + " -> " +
          (result.ok() ? std::to_string(result->status) : result.status().ToString()));
    if (result.ok() && (result->status == 403 || result->status == 400)) {
      Debug("canonical request:\n" + trace.canonical_request + "\nstring to sign:\n" +
            trace.string_to_sign);
    }
  }
  return result;
}

Result<HttpResponse> S3Client::Execute(const S3Request& request) {
  // One operation for the crash tests however many attempts it takes (crash_point.h).
  CrashPoint(kStoreRequestStep);
  const Target target = TargetFor(request);
  std::string payload_hash = request.payload_hash;
  if (payload_hash.empty()) {
    if (!request.send_body) {
      payload_hash = std::string(kEmptyPayloadHash);
    } else if (request.body_fd < 0) {
      payload_hash = HexEncode(Sha256(request.body));
    } else {
      payload_hash = std::string(kUnsignedPayload);
    }
  }
  const auto start = std::chrono::steady_clock::now();
  for (int attempt = 1;; ++attempt) {
    Result<HttpResponse> sent = Attempt(request, target, payload_hash);
    AttemptFailure failure;
    if (!sent.ok()) {
      const Status& st = sent.status();
      // Transport and local-file failures carry no request context yet.
      failure.status =
          Status(st.code(), UriOf(request.bucket, request.key) + ": " +
                                std::string(RequestKindName(request.kind)) + " to " +
                                EndpointFor(request.bucket) + " failed: " + st.message());
    } else {
      HttpResponse& response = *sent;
      response.attempts = attempt;
      if (response.stopped) return std::move(response);
      const bool accepted = std::find(request.accept.begin(), request.accept.end(),
                                      response.status) != request.accept.end();
      if (accepted) return std::move(response);
      if (response.ok()) {
        if (!(request.error_in_ok_body && IsErrorDocument(response.body))) {
          if (request.kind == RequestKind::kGet) AddBytesRead(response.body_bytes);
          if (request.send_body &&
              (request.kind == RequestKind::kPut || request.kind == RequestKind::kMultipartPart)) {
            AddBytesWritten(request.body_fd >= 0 ? request.body_length
                                                 : static_cast<int64_t>(request.body.size()));
          }
          return std::move(response);
        }
      }
      S3Error error = ParseS3Error(response.body);
      failure.http_status = response.status;
      failure.s3_code = error.code;
      failure.status = Failure(request, response);
    }
    const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::optional<std::chrono::milliseconds> delay = retry_->NextDelay(failure, attempt, elapsed);
    if (!delay) {
      if (attempt == 1 || !failure.status.IsRetryable()) return Scrub(failure.status);
      return Scrub(Status(failure.status.code(),
                          failure.status.message() + " [gave up after " + std::to_string(attempt) +
                              " attempts in " + Seconds(std::chrono::steady_clock::now() - start) +
                              " s]"));
    }
    retries_++;
    Debug("retry " + std::to_string(attempt) + " of " + UriOf(request.bucket, request.key) +
          " in " + std::to_string(delay->count()) + " ms: " + failure.status.ToString());
    std::this_thread::sleep_for(*delay);
  }
}

std::string S3Client::IfMatchValue(std::string_view etag) const {
  if (if_match_bare()) return std::string(etag);
  return "\"" + std::string(etag) + "\"";
}

std::map<std::string, int64_t> S3Client::Counters() const {
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i < requests_.size(); ++i) {
    out[std::string(RequestKindName(static_cast<RequestKind>(i)))] = requests_[i].load();
  }
  out["retries"] = retries_.load();
  out["bytes_read"] = bytes_read_.load();
  out["bytes_written"] = bytes_written_.load();
  return out;
}

}  // namespace lakepack::s3
