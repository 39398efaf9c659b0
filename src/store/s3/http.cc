// HttpClient: libcurl easy handles, reused through a pool so that connections stay alive
// between requests. Bodies stream through callbacks (pread from the source file, pwrite into
// the sink file), so no transfer is ever held whole in memory unless asked for.
#include "store/s3/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "store/s3/errors.h"

namespace lakepack::s3 {

namespace {

// Error bodies are a few hundred bytes of XML; anything past this is noise.
constexpr size_t kMaxErrorBody = size_t{1} << 20;
// Idle handles kept for reuse; more than the store's concurrency is never needed.
constexpr size_t kMaxIdleHandles = 256;
// Larger socket buffers than curl's 16 KiB default: fewer callbacks per transferred MiB.
constexpr long kReceiveBufferSize = 256 * 1024;
constexpr long kUploadBufferSize = 1024 * 1024;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  int64_t read_pos = 0;
  bool stopped = false;  // check_headers said no
  Status local_error;    // a failure of our own file, which must not look like a network one
};

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (after "100 Continue", say): what came before was another response.
    t->response->headers.clear();
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) {
      t->response->status = std::atoi(std::string(line.substr(sp + 1, 3)).c_str());
    }
    return size * n;
  }
  if (line == "\r\n" || line == "\n") {
    // End of a header block; 1xx blocks are followed by the real response's.
    const HttpResponse& r = *t->response;
    if (r.status >= 200 && t->request->check_headers && !t->request->check_headers(r)) {
      t->stopped = true;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name = Trim(line.substr(0, colon));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    t->response->headers[name] = Trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  HttpResponse* r = t->response;
  const bool success = r->status >= 200 && r->status < 300;
  if (success && t->request->sink_fd >= 0) {
    size_t done = 0;
    while (done < len) {
      ssize_t w = ::pwrite(t->request->sink_fd, data + done, len - done,
                           t->request->sink_offset + r->body_bytes + static_cast<int64_t>(done));
      if (w < 0) {
        if (errno == EINTR) continue;
        t->local_error = PosixError("write " + t->request->sink_path, errno);
        return 0;  // makes curl abort with CURLE_WRITE_ERROR
      }
      done += static_cast<size_t>(w);
    }
  } else if (success || r->body.size() < kMaxErrorBody) {
    r->body.append(data, len);
  }
  r->body_bytes += static_cast<int64_t>(len);
  return len;
}

size_t OnRead(char* buffer, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpRequest& req = *t->request;
  const int64_t total = req.body_fd >= 0 ? req.body_length : static_cast<int64_t>(req.body.size());
  const size_t want = static_cast<size_t>(std::min<int64_t>(size * n, total - t->read_pos));
  if (want == 0) return 0;
  if (req.body_fd < 0) {
    std::memcpy(buffer, req.body.data() + t->read_pos, want);
    t->read_pos += static_cast<int64_t>(want);
    return want;
  }
  while (true) {
    ssize_t r = ::pread(req.body_fd, buffer, want, req.body_offset + t->read_pos);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      t->local_error = PosixError("read " + req.body_path, errno);
      return CURL_READFUNC_ABORT;
    }
    if (r == 0) {
      t->local_error = Status::IOError(req.body_path + ": file ended at byte " +
                                       std::to_string(req.body_offset + t->read_pos) +
                                       " while being uploaded (was it truncated meanwhile?)");
      return CURL_READFUNC_ABORT;
    }
    t->read_pos += r;
    return static_cast<size_t>(r);
  }
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  t->read_pos = offset;
  return CURL_SEEKFUNC_OK;
}

// Frees a header list on every path out of Send.
struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
  void Add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

}  // namespace

class HttpClient::HandlePool {
 public:
  ~HandlePool() {
    for (CURL* h : idle_) curl_easy_cleanup(h);
  }
  CURL* Acquire() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!idle_.empty()) {
        CURL* h = idle_.back();
        idle_.pop_back();
        return h;
      }
    }
    return curl_easy_init();
  }
  // The handle keeps its live connection across curl_easy_reset: that is the keep-alive.
  void Release(CURL* h) {
    curl_easy_reset(h);
    std::lock_guard<std::mutex> lock(mu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(h);
      return;
    }
    curl_easy_cleanup(h);
  }

 private:
  std::mutex mu_;
  std::vector<CURL*> idle_;
};

HttpClient::HttpClient(HttpSettings settings)
    : settings_(std::move(settings)), pool_(std::make_unique<HandlePool>()) {
  GlobalInit();
}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::Send(const HttpRequest& request) {
  CURL* h = pool_->Acquire();
  if (h == nullptr) return Status::IOError("curl_easy_init failed (out of memory?)");
  struct Returner {
    HandlePool* pool;
    CURL* h;
    ~Returner() { pool->Release(h); }
  } returner{pool_.get(), h};

  HttpResponse response;
  Transfer transfer;
  transfer.request = &request;
  transfer.response = &response;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  HeaderList headers;
  for (const auto& [name, value] : request.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    headers.Add(value.empty() ? name + ";" : name + ": " + value);
  }
  // No "Expect: 100-continue" round trip before each body: S3 answers errors after the body
  // just as well, and the wait costs a round trip (or a full second with some servers).
  headers.Add("Expect:");

  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect must be signed anew
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(settings_.idle_timeout_s));
  curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, kReceiveBufferSize);
  curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, kUploadBufferSize);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
#ifdef LAKEPACK_VERSION
  curl_easy_setopt(h, CURLOPT_USERAGENT, "lakepack/" LAKEPACK_VERSION);
#else
  curl_easy_setopt(h, CURLOPT_USERAGENT, "lakepack");
#endif
  if (!settings_.ca_bundle.empty() && request.url.rfind("https://", 0) == 0) {
    curl_easy_setopt(h, CURLOPT_CAINFO, settings_.ca_bundle.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);

  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.send_body) {
    const int64_t length =
        request.body_fd >= 0 ? request.body_length : static_cast<int64_t>(request.body.size());
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(length));
    curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(h, CURLOPT_READDATA, &transfer);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &transfer);
    if (request.method != "PUT") {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
  } else if (request.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.list);

  CURLcode rc = curl_easy_perform(h);
  if (!transfer.local_error.ok()) return transfer.local_error;
  if (transfer.stopped) {
    response.stopped = true;
    return response;
  }
  if (rc != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    if (response.status != 0) {
      detail += " (after HTTP " + std::to_string(response.status) + ", " +
                std::to_string(response.body_bytes) + " body bytes)";
    }
    return CurlFailure(static_cast<int>(rc), detail);
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  // curl notices most short bodies itself (CURLE_PARTIAL_FILE); this also catches the rest.
  if (request.method != "HEAD" && response.status != 204 && response.status != 304) {
    std::string length = response.Header("content-length");
    if (!length.empty() && response.Header("content-encoding").empty()) {
      int64_t expected = std::atoll(length.c_str());
      if (expected != response.body_bytes) {
        return Status::Retryable(
            "response body cut short: received " + std::to_string(response.body_bytes) + " of " +
            std::to_string(expected) + " bytes (HTTP " + std::to_string(response.status) + ")");
      }
    }
  }
  return response;
}

}  // namespace lakepack::s3
