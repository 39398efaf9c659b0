// A small HTTP/1.1 client over libcurl, just what S3 needs: bodies from memory or a file
// range, responses into memory or straight into a file, keep-alive through a pool of reused
// handles. No retries here (S3Client does them). Thread-safety: Send may be called from many
// threads at once; each call borrows its own curl handle.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lakepack/status.h"
#include "store/s3/sigv4.h"

namespace lakepack::s3 {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  std::string url;
  KeyValues headers;

  //! PUT and POST send a body (Content-Length, possibly 0): from memory (`body`), or
  //! `body_length` bytes of the open file `body_fd` from `body_offset`.
  bool send_body = false;
  std::string_view body;
  int body_fd = -1;
  int64_t body_offset = 0;
  int64_t body_length = 0;
  std::string body_path;  // for messages

  //! A 2xx response body goes to memory (HttpResponse::body), or, with `sink_fd` ≥ 0, is
  //! written into that file from `sink_offset` on. Error bodies always go to memory.
  int sink_fd = -1;
  int64_t sink_offset = 0;
  std::string sink_path;  // for messages

  //! Called once the final response's headers are in; returning false stops the transfer
  //! there (the response comes back with its status and headers, and `stopped` set). For
  //! answers whose body would be wrong or never come, e.g. "206, Content-Range: bytes 0-0/0".
  std::function<bool(const struct HttpResponse&)> check_headers;
};

struct HttpResponse {
  int status = 0;
  //! Header names in lower case; a repeated header keeps its last value.
  std::map<std::string, std::string> headers;
  //! The body of an error response, or of a 2xx response without a file sink.
  std::string body;
  //! Body bytes received (into memory or into the file sink).
  int64_t body_bytes = 0;
  //! Attempts it took (set by S3Client).
  int attempts = 1;
  //! HttpRequest::check_headers stopped the transfer after the headers.
  bool stopped = false;

  //! A header's value, "" when absent. REQUIRES: `name` in lower case.
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  bool ok() const { return status >= 200 && status < 300; }
};

struct HttpSettings {
  int connect_timeout_ms = 10000;
  //! Abort a transfer that moves no byte for this long.
  int idle_timeout_s = 60;
  //! PEM CA bundle for https ("" = the system's).
  std::string ca_bundle;
};

class HttpClient {
 public:
  explicit HttpClient(HttpSettings settings);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  //! Sends one request. Any HTTP status is an OK result. A transport failure (refused or
  //! reset connection, timeout, body cut short) is a non-OK Status, kRetryable when trying
  //! again may help; a failure of the local file body or sink is its own (non-retryable)
  //! Status naming the file.
  Result<HttpResponse> Send(const HttpRequest& request);

 private:
  class HandlePool;
  const HttpSettings settings_;
  std::unique_ptr<HandlePool> pool_;
};

}  // namespace lakepack::s3
