// The S3 client against a scripted fake server on 127.0.0.1: transient failures (5xx,
// SlowDown, reset connections, bodies cut short) are retried with backoff and bounded;
// refusals are not; batch deletes fall back to single ones; multipart failures abort; errors
// inside 200 answers are caught; a secret echoed by a server never reaches a message.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <pugixml.hpp>
#include <set>
#include <thread>
#include <vector>

#include "store/s3/crypto.h"
#include "store/s3/operations.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_store.h"

namespace lakepack {
namespace {

struct FakeRequest {
  std::string method;
  std::string path;                            // decoded? no: as sent
  std::string query;                           // as sent, without '?'
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct FakeReply {
  enum Action { kNormal, kReset, kTruncate };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Action action = kNormal;
  size_t truncate_at = 0;  // kTruncate: body bytes sent before the connection drops
};

FakeReply ErrorReply(int status, const std::string& code, const std::string& message = "msg") {
  FakeReply r;
  r.status = status;
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
           message + "</Message><RequestId>fake</RequestId></Error>";
  return r;
}

// A one-request-at-a-time HTTP/1.1 server with keep-alive, answering through a handler.
class FakeServer {
 public:
  explicit FakeServer(std::function<FakeReply(const FakeRequest&)> handler)
      : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(listen_fd_, 64);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~FakeServer() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : connections_) t.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  std::vector<FakeRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  int Count(const std::string& method, const std::string& query_part = "") {
    int n = 0;
    for (const FakeRequest& r : requests()) {
      if (r.method == method && r.query.find(query_part) != std::string::npos) ++n;
    }
    return n;
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      open_fds_.push_back(fd);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool SendAll(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    char chunk[65536];
    while (true) {
      size_t header_end;
      while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return Close(fd, false);
        buffer.append(chunk, static_cast<size_t>(n));
      }
      FakeRequest req;
      std::string head = buffer.substr(0, header_end);
      buffer.erase(0, header_end + 4);
      size_t eol = head.find("\r\n");
      std::string line = head.substr(0, eol);
      size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
      req.method = line.substr(0, sp1);
      std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t q = target.find('?');
      req.path = target.substr(0, q);
      if (q != std::string::npos) req.query = target.substr(q + 1);
      size_t pos = eol == std::string::npos ? head.size() : eol + 2;
      while (pos < head.size()) {
        size_t next = head.find("\r\n", pos);
        if (next == std::string::npos) next = head.size();
        std::string h = head.substr(pos, next - pos);
        size_t colon = h.find(':');
        if (colon != std::string::npos) {
          std::string name = h.substr(0, colon);
          for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
          size_t v = h.find_first_not_of(' ', colon + 1);
          req.headers[name] = v == std::string::npos ? "" : h.substr(v);
        }
        pos = next + 2;
      }
      size_t length = std::strtoul(req.Header("content-length").c_str(), nullptr, 10);
      while (buffer.size() < length) {
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) return Close(fd, false);
        buffer.append(chunk, static_cast<size_t>(n));
      }
      req.body = buffer.substr(0, length);
      buffer.erase(0, length);

      FakeReply reply;
      {
        std::lock_guard<std::mutex> lock(mu_);
        log_.push_back(req);
        reply = handler_(req);
      }
      if (reply.action == FakeReply::kReset) return Close(fd, true);
      std::string out = "HTTP/1.1 " + std::to_string(reply.status) + " X\r\n";
      bool has_length = false;
      for (const auto& [name, value] : reply.headers) {
        out += name + ": " + value + "\r\n";
        if (name == "Content-Length") has_length = true;
      }
      if (!has_length && req.method != "HEAD") {
        out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
      }
      out += "\r\n";
      if (req.method != "HEAD") {
        out += reply.action == FakeReply::kTruncate ? reply.body.substr(0, reply.truncate_at)
                                                    : reply.body;
      }
      if (!SendAll(fd, out) || reply.action == FakeReply::kTruncate) return Close(fd, false);
    }
  }

  void Close(int fd, bool reset) {
    if (reset) {
      linger l{1, 0};  // close with RST: "connection reset by peer" on the client
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (int& open : open_fds_) {
      if (open == fd) open = -1;
    }
    ::close(fd);
  }

  std::function<FakeReply(const FakeRequest&)> handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<int> open_fds_;
  std::vector<FakeRequest> log_;
};

s3::S3Options FastRetryOptions(const FakeServer& server) {
  s3::S3Options o;
  o.endpoint = server.endpoint();
  o.credentials = {"AKIAFAKEFAKEFAKE", "fakeSecretKeyThatMustNotLeak/0123456789", ""};
  o.retry_base_ms = 1;
  o.retry_max_delay_ms = 20;
  o.max_retries = 5;
  o.concurrency = 4;
  return o;
}

// Multipart from 5 MiB on, in 5 MiB parts: a 12 MiB write goes up in three.
s3::S3Options SmallPartOptions(const FakeServer& server) {
  s3::S3Options o = FastRetryOptions(server);
  o.multipart_threshold = 5 << 20;
  o.part_size = 5 << 20;
  return o;
}

std::shared_ptr<S3Store> Open(const s3::S3Options& o, const std::string& prefix = "") {
  auto store = OpenS3StoreWithOptions("bkt", prefix, o);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return *store;
}

TEST(S3FaultTest, TransientErrorsAreRetriedUntilSuccess) {
  std::atomic<int> calls{0};
  FakeServer server([&](const FakeRequest&) {
    int n = calls++;
    if (n == 0) return ErrorReply(503, "SlowDown", "Please reduce your request rate.");
    if (n == 1) return ErrorReply(500, "InternalError");
    if (n == 2) return FakeReply{429, {}, "", FakeReply::kNormal, 0};
    return FakeReply{200, {{"ETag", "\"abc\""}}, "hello", FakeReply::kNormal, 0};
  });
  auto store = Open(FastRetryOptions(server));
  auto read = store->Read("key");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "hello");
  auto counters = store->Counters();
  EXPECT_EQ(counters["GET"], 4);
  EXPECT_EQ(counters["retries"], 3);
  EXPECT_EQ(counters["bytes_read"], 5);
}

TEST(S3FaultTest, ResetConnectionsAndCutBodiesAreRetried) {
  std::atomic<int> calls{0};
  const std::string data(100000, 'x');
  FakeServer server([&](const FakeRequest&) {
    int n = calls++;
    FakeReply ok{200, {}, data, FakeReply::kNormal, 0};
    if (n == 0) ok.action = FakeReply::kReset;
    if (n == 1 || n == 2) {
      ok.action = FakeReply::kTruncate;
      ok.truncate_at = 5000;
    }
    return ok;
  });
  auto store = Open(FastRetryOptions(server));
  auto read = store->Read("key");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == data);
  EXPECT_EQ(store->Counters()["retries"], 3);

  calls = 0;
  std::string path = ::testing::TempDir() + "/lakepack-fault-download";
  ASSERT_TRUE(store->ReadToFile("key", path).ok());
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr);
  std::fseek(f, 0, SEEK_END);
  EXPECT_EQ(std::ftell(f), 100000);
  std::fclose(f);
  std::remove(path.c_str());
}

TEST(S3FaultTest, GivesUpAfterTheRetryLimitWithTheLastCause) {
  FakeServer server([&](const FakeRequest&) {
    return ErrorReply(500, "InternalError", "We encountered an internal error. Please try again.");
  });
  s3::S3Options o = FastRetryOptions(server);
  o.max_retries = 3;
  auto store = Open(o);
  const std::string path = ::testing::TempDir() + "/lakepack-fault-never";
  Status st = store->ReadToFile("dir/key", path);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kRetryable);
  EXPECT_EQ(st.message(),
            "s3://bkt/dir/key: GET failed at " + server.endpoint() +
                ": InternalError: We encountered an internal error. Please try again. "
                "[gave up after 4 attempts in " +
                st.message().substr(st.message().find(" in ") + 4));
  EXPECT_NE(st.message().find("gave up after 4 attempts"), std::string::npos);
  EXPECT_EQ(server.Count("GET"), 4);
  EXPECT_FALSE(std::ifstream(path).good()) << "a failed download leaves no file";
}

TEST(S3FaultTest, RetriesStopAtTheTimeLimit) {
  FakeServer server([&](const FakeRequest&) { return ErrorReply(503, "SlowDown"); });
  s3::S3Options o = FastRetryOptions(server);
  o.max_retries = 1000;
  o.retry_base_ms = 100;
  o.retry_max_delay_ms = 300;
  o.retry_max_time_s = 1;
  auto store = Open(o);
  auto start = std::chrono::steady_clock::now();
  auto read = store->Read("key");
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("gave up after"), std::string::npos);
  // The time limit, not the 1,000 retries, ended it. Those would take minutes (about 150 ms
  // each); a cap of 1.5 s failed on a loaded machine, so the bound is generous and the count
  // says which limit was hit.
  EXPECT_LT(server.Count("GET"), 1000);
  EXPECT_LT(took, std::chrono::seconds(60));
}

TEST(S3FaultTest, RefusalsAreNotRetriedAndSecretsNeverShow) {
  s3::S3Options* options = nullptr;
  FakeServer server([&](const FakeRequest&) {
    // A server that echoes the secret back must still not get it printed.
    return ErrorReply(403, "SignatureDoesNotMatch",
                      "bad signature for " + options->credentials.secret_access_key);
  });
  s3::S3Options o = FastRetryOptions(server);
  options = &o;
  auto store = Open(o);
  auto written = store->Write("k", "v");
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(written.status().message(),
            "s3://bkt/k: PUT refused by " + server.endpoint() +
                ": SignatureDoesNotMatch: bad signature for <redacted>");
  EXPECT_EQ(server.Count("PUT"), 1);
  EXPECT_EQ(o.ToString().find(o.credentials.secret_access_key), std::string::npos);
  // Every request was signed with the key id, never with the secret in clear.
  for (const FakeRequest& r : server.requests()) {
    EXPECT_EQ(r.Header("authorization").find("AWS4-HMAC-SHA256 Credential=AKIAFAKEFAKEFAKE/"), 0u);
    for (const auto& [name, value] : r.headers) {
      EXPECT_EQ(value.find(o.credentials.secret_access_key), std::string::npos) << name;
    }
  }
}

TEST(S3FaultTest, NotFoundAndMissingBucket) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.path == "/nobkt/k")
      return ErrorReply(404, "NoSuchBucket", "The specified bucket does not exist");
    return ErrorReply(404, "NoSuchKey", "The specified key does not exist.");
  });
  s3::S3Options o = FastRetryOptions(server);
  auto store = Open(o);
  EXPECT_EQ(store->Read("k").status().code(), StatusCode::kNotFound);
  auto nobkt = OpenS3StoreWithOptions("nobkt", "", o);
  ASSERT_TRUE(nobkt.ok());
  auto read = (*nobkt)->Read("k");
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(read.status().message(), "s3://nobkt/k: bucket 'nobkt' does not exist at " +
                                         server.endpoint() +
                                         " (NoSuchBucket: The specified bucket does not exist)");
  EXPECT_EQ(server.Count("GET"), 2) << "404 is not retried";
}

TEST(S3FaultTest, BatchDeleteFallsBackToSingleDeletes) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.method == "POST") return ErrorReply(501, "NotImplemented", "multi-object delete");
    return FakeReply{204, {}, "", FakeReply::kNormal, 0};
  });
  auto store = Open(FastRetryOptions(server), "pre");
  ASSERT_TRUE(store->Delete({"a", "b/c", "d e"}).ok());
  EXPECT_EQ(server.Count("POST", "delete"), 1);
  EXPECT_EQ(server.Count("DELETE"), 3);
  // The refusal is remembered: no second batch attempt.
  ASSERT_TRUE(store->Delete({"x", "y"}).ok());
  EXPECT_EQ(server.Count("POST", "delete"), 1);
  EXPECT_EQ(server.Count("DELETE"), 5);
  std::vector<std::string> paths;
  for (const FakeRequest& r : server.requests()) {
    if (r.method == "DELETE") paths.push_back(r.path);
  }
  EXPECT_NE(std::find(paths.begin(), paths.end(), "/bkt/pre/d%20e"), paths.end());
}

TEST(S3FaultTest, BatchDeletesGoInThousandsWithContentMd5) {
  std::atomic<int> bad_md5{0};
  std::vector<size_t> batch_sizes;
  FakeServer server([&](const FakeRequest& r) {
    if (r.Header("content-md5") != s3::Base64Encode(s3::Md5(r.body))) bad_md5++;
    pugi::xml_document doc;
    doc.load_buffer(r.body.data(), r.body.size());
    size_t n = 0;
    for (auto o = doc.child("Delete").child("Object"); o; o = o.next_sibling("Object")) ++n;
    batch_sizes.push_back(n);
    FakeReply ok;
    // One key fails; a missing key (NoSuchKey) does not count as a failure.
    ok.body = "<DeleteResult><Error><Key>k1</Key><Code>NoSuchKey</Code></Error></DeleteResult>";
    return ok;
  });
  std::vector<std::string> keys;
  for (int i = 0; i < 2500; ++i) keys.push_back("k" + std::to_string(i));
  auto store = Open(FastRetryOptions(server));
  ASSERT_TRUE(store->Delete(keys).ok());
  std::sort(batch_sizes.begin(), batch_sizes.end());
  EXPECT_EQ(batch_sizes, (std::vector<size_t>{500, 1000, 1000}));
  EXPECT_EQ(bad_md5.load(), 0);
  EXPECT_EQ(store->Counters()["DELETE"], 3);
}

TEST(S3FaultTest, DeleteReportsKeysThatFailed) {
  FakeServer server([&](const FakeRequest&) {
    FakeReply r;
    r.body =
        "<DeleteResult><Error><Key>secret/k2</Key><Code>AccessDenied</Code>"
        "<Message>Access Denied</Message></Error></DeleteResult>";
    return r;
  });
  auto store = Open(FastRetryOptions(server));
  Status st = store->Delete({"secret/k1", "secret/k2"});
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(st.message(), "s3://bkt/secret/k2: DELETE refused by " + server.endpoint() +
                              ": AccessDenied: Access Denied");
}

TEST(S3FaultTest, ErrorInsideA200CopyAnswerIsRetried) {
  std::atomic<int> calls{0};
  FakeServer server([&](const FakeRequest& r) {
    EXPECT_EQ(r.Header("x-amz-copy-source"), "/bkt/src%20key");
    FakeReply ok;
    ok.body = calls++ == 0 ? "<Error><Code>InternalError</Code><Message>oops</Message></Error>"
                           : "<CopyObjectResult><ETag>\"e\"</ETag></CopyObjectResult>";
    return ok;
  });
  auto store = Open(FastRetryOptions(server));
  ASSERT_TRUE(store->Copy("src key", "dst").ok());
  EXPECT_EQ(server.Count("PUT"), 2);
}

// A minimal multipart endpoint; `fail_part` answers 400 to that part number.
struct MultipartServer {
  int fail_part = 0;
  bool lose_first_complete = false;
  int completes = 0;
  int64_t stored_size = -1;
  std::string stored_etag;
  std::string write_id;
  std::map<int, std::string> part_md5s;
  FakeReply Handle(const FakeRequest& r) {
    if (r.method == "POST" && r.query == "uploads") {
      write_id = r.Header("x-amz-meta-lakepack-write-id");
      EXPECT_EQ(write_id.size(), 16u);
      FakeReply ok;
      ok.body =
          "<InitiateMultipartUploadResult><UploadId>UP1</UploadId></InitiateMultipartUploadResult>";
      return ok;
    }
    if (r.method == "PUT" && r.query.find("partNumber=") != std::string::npos) {
      int n = std::atoi(r.query.substr(r.query.find("partNumber=") + 11).c_str());
      if (n == fail_part) return ErrorReply(400, "InvalidArgument", "part refused");
      std::string md5 = s3::Md5(r.body);
      EXPECT_EQ(r.Header("content-md5"), s3::Base64Encode(md5));
      part_md5s[n] = md5;
      return FakeReply{
          200, {{"ETag", "\"" + s3::HexEncode(md5) + "\""}}, "", FakeReply::kNormal, 0};
    }
    if (r.method == "POST" && r.query == "uploadId=UP1") {
      if (completes++ > 0 && lose_first_complete) return ErrorReply(404, "NoSuchUpload");
      std::string all;
      for (auto& [n, md5] : part_md5s) all += md5;
      stored_etag = s3::HexEncode(s3::Md5(all)) + "-" + std::to_string(part_md5s.size());
      stored_size = 0;
      FakeReply ok;
      ok.body = "<CompleteMultipartUploadResult><ETag>\"" + stored_etag +
                "\"</ETag></CompleteMultipartUploadResult>";
      if (lose_first_complete) ok.action = FakeReply::kReset;
      return ok;
    }
    if (r.method == "DELETE" && r.query == "uploadId=UP1")
      return FakeReply{204, {}, "", FakeReply::kNormal, 0};
    if (r.method == "HEAD") {
      if (stored_size < 0) return FakeReply{404, {}, "", FakeReply::kNormal, 0};
      return FakeReply{200,
                       {{"Content-Length", std::to_string(stored_size)},
                        {"ETag", "\"" + stored_etag + "\""},
                        {"x-amz-meta-lakepack-write-id", write_id}},
                       "",
                       FakeReply::kNormal,
                       0};
    }
    return ErrorReply(400, "Unexpected", r.method + " " + r.path + "?" + r.query);
  }
};

TEST(S3FaultTest, FailedPartAbortsTheUpload) {
  MultipartServer mp;
  mp.fail_part = 2;
  FakeServer server([&](const FakeRequest& r) { return mp.Handle(r); });
  auto store = Open(SmallPartOptions(server));
  auto written = store->Write("big", std::string((12 << 20) + 1, 'z'));
  ASSERT_FALSE(written.ok());
  EXPECT_NE(written.status().message().find("part refused (part 2 of 3)"), std::string::npos)
      << written.status().ToString();
  EXPECT_EQ(server.Count("DELETE", "uploadId=UP1"), 1);
  EXPECT_EQ(server.Count("POST", "uploadId=UP1"), 0) << "never completed";
  EXPECT_EQ(store->Counters()["MULTIPART_ABORT"], 1);
}

TEST(S3FaultTest, CompleteWhoseAnswerWasLostIsConfirmedByHead) {
  MultipartServer mp;
  mp.lose_first_complete = true;
  FakeServer server([&](const FakeRequest& r) {
    FakeReply reply = mp.Handle(r);
    if (r.method == "POST" && r.query == "uploadId=UP1") mp.stored_size = (12 << 20) + 1;
    return reply;
  });
  auto store = Open(SmallPartOptions(server));
  auto written = store->Write("big", std::string((12 << 20) + 1, 'z'));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->etag, mp.stored_etag);
  EXPECT_EQ(server.Count("POST", "uploadId=UP1"), 2);
  EXPECT_EQ(server.Count("DELETE"), 0);
  EXPECT_EQ(server.Count("HEAD"), 1);
}

TEST(S3FaultTest, CreateOnlyWrites) {
  std::atomic<bool> exists{false};
  std::atomic<int> puts{0};
  std::string stored_md5, stored_write_id;
  FakeServer server([&](const FakeRequest& r) {
    if (r.method == "HEAD") {
      return FakeReply{200,
                       {{"Content-Length", "3"},
                        {"ETag", "\"" + stored_md5 + "\""},
                        {"x-amz-meta-lakepack-write-id", stored_write_id}},
                       "",
                       FakeReply::kNormal,
                       0};
    }
    EXPECT_EQ(r.Header("if-none-match"), "*");
    if (exists)
      return ErrorReply(412, "PreconditionFailed",
                        "At least one of the pre-conditions you specified did not hold");
    exists = true;
    stored_md5 = s3::HexEncode(s3::Md5(r.body));
    stored_write_id = r.Header("x-amz-meta-lakepack-write-id");
    FakeReply ok{200, {{"ETag", "\"" + stored_md5 + "\""}}, "", FakeReply::kNormal, 0};
    // The first create lands but its answer is lost: the retry meets a 412 of its own making.
    if (puts++ == 0) ok.action = FakeReply::kReset;
    return ok;
  });
  auto store = Open(FastRetryOptions(server));
  PutOptions create_only;
  create_only.if_none_match = true;
  auto first = store->Write("lock", "one", create_only);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = store->Write("lock", "two", create_only);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("s3://bkt/lock: already exists"), std::string::npos);
  // Same bytes, but another write: still refused.
  auto same = store->Write("lock", "one", create_only);
  EXPECT_EQ(same.status().code(), StatusCode::kAlreadyExists);
}

TEST(S3FaultTest, ProbeDetectsAnEndpointThatIgnoresIfNoneMatch) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.method == "POST") return FakeReply{200, {}, "<DeleteResult/>", FakeReply::kNormal, 0};
    return FakeReply{
        200, {{"ETag", "\"" + s3::HexEncode(s3::Md5(r.body)) + "\""}}, "", FakeReply::kNormal, 0};
  });
  auto store = Open(FastRetryOptions(server), "lake");
  StoreCapabilities caps = store->Capabilities();
  EXPECT_FALSE(caps.create_only_reliable);
  EXPECT_FALSE(caps.create_only_multipart_reliable);
  EXPECT_FALSE(caps.if_match_reliable) << "a stale If-Match was not refused";
  EXPECT_FALSE(caps.tags) << "HEAD shows no x-amz-meta-lakepack-tag";
  EXPECT_FALSE(store->Capabilities().create_only_reliable);
  // Two create-only PUTs, a HEAD, the right and a stale If-Match PUT; no multipart probe
  // where create-only fails anyway.
  EXPECT_EQ(server.Count("PUT"), 4) << "probed once";
  EXPECT_EQ(server.Count("HEAD"), 1);
  EXPECT_EQ(server.Count("POST", "uploads"), 0);
  EXPECT_EQ(server.Count("POST", "delete"), 1) << "probe deleted";
  EXPECT_EQ(server.requests()[0].path.rfind("/bkt/lake/_lakepack/probe/", 0), 0u)
      << server.requests()[0].path;
  EXPECT_EQ(server.requests()[0].Header("x-amz-meta-lakepack-tag"), "lakepack-probe");
}

// RGW matches If-Match only against the unquoted ETag: a pinned read that meets 412 while
// HEAD still shows the pinned ETag switches form once, and keeps the form it learnt.
TEST(S3FaultTest, PinnedReadLearnsTheIfMatchFormTheEndpointTakes) {
  FakeServer server([&](const FakeRequest& r) {
    if (r.method == "HEAD") {
      return FakeReply{
          200, {{"Content-Length", "4"}, {"ETag", "\"abc\""}}, "", FakeReply::kNormal, 0};
    }
    if (r.Header("if-match") != "abc") {
      return ErrorReply(412, "PreconditionFailed", "quoted ETags never match here");
    }
    return FakeReply{200, {{"ETag", "\"abc\""}}, "data", FakeReply::kNormal, 0};
  });
  auto store = Open(FastRetryOptions(server));
  auto first = store->ReadPinned("k", "abc");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, "data");
  EXPECT_EQ(server.Count("GET"), 2);
  auto second = store->ReadPinned("k", "abc");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(server.Count("GET"), 3) << "the bare form is kept";
  auto changed = store->ReadPinned("k", "old");
  EXPECT_EQ(changed.status().code(), StatusCode::kFailedPrecondition)
      << changed.status().ToString();
  EXPECT_NE(changed.status().message().find(
                "s3://bkt/k: changed since it was planned (ETag old, now abc)"),
            std::string::npos)
      << changed.status().ToString();
}

// The first CreateMultipartUpload lands but its answer is lost; the retry starts a second
// upload, which the write uses. The first must not stay behind (billed until aborted).
TEST(S3FaultTest, LostCreateMultipartUploadAnswerLeavesNoUpload) {
  int creates = 0;
  std::set<std::string> pending;
  std::map<int, std::string> part_md5s;
  FakeServer server([&](const FakeRequest& r) {
    if (r.method == "POST" && r.query == "uploads") {
      std::string id = "UP" + std::to_string(creates++);
      pending.insert(id);
      FakeReply ok;
      ok.body = "<InitiateMultipartUploadResult><UploadId>" + id +
                "</UploadId></InitiateMultipartUploadResult>";
      if (id == "UP0") ok.action = FakeReply::kReset;  // created, but the answer is lost
      return ok;
    }
    if (r.method == "PUT" && r.query.find("partNumber=") != std::string::npos) {
      int n = std::atoi(r.query.substr(r.query.find("partNumber=") + 11).c_str());
      std::string md5 = s3::Md5(r.body);
      part_md5s[n] = md5;
      return FakeReply{
          200, {{"ETag", "\"" + s3::HexEncode(md5) + "\""}}, "", FakeReply::kNormal, 0};
    }
    if (r.method == "POST" && r.query.rfind("uploadId=", 0) == 0) {
      pending.erase(r.query.substr(9));
      FakeReply ok;
      ok.body =
          "<CompleteMultipartUploadResult><ETag>\"0123-3\"</ETag>"
          "</CompleteMultipartUploadResult>";
      return ok;
    }
    if (r.method == "GET" && r.query.find("uploads") != std::string::npos) {
      EXPECT_NE(r.query.find("prefix=big"), std::string::npos) << r.query;
      std::time_t now = std::time(nullptr);
      char when[32];
      std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S.000Z", std::gmtime(&now));
      std::string body = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>";
      for (const std::string& id : pending) {
        body += "<Upload><Key>big</Key><UploadId>" + id + "</UploadId><Initiated>" + when +
                "</Initiated></Upload>";
      }
      // An upload of another key, and an old one of this key: neither is ours to abort.
      body += "<Upload><Key>big2</Key><UploadId>OTHER</UploadId><Initiated>" + std::string(when) +
              "</Initiated></Upload>";
      body +=
          "<Upload><Key>big</Key><UploadId>OLD</UploadId><Initiated>"
          "2001-01-01T00:00:00.000Z</Initiated></Upload>";
      return FakeReply{200, {}, body + "</ListMultipartUploadsResult>", FakeReply::kNormal, 0};
    }
    if (r.method == "DELETE" && r.query.rfind("uploadId=", 0) == 0) {
      pending.erase(r.query.substr(9));
      return FakeReply{204, {}, "", FakeReply::kNormal, 0};
    }
    return ErrorReply(400, "Unexpected", r.method + " " + r.path + "?" + r.query);
  });
  auto store = Open(SmallPartOptions(server));
  auto written = store->Write("big", std::string((12 << 20) + 1, 'z'));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(creates, 2);
  EXPECT_TRUE(pending.empty()) << "left behind: " << *pending.begin();
  EXPECT_EQ(server.Count("DELETE", "uploadId=UP0"), 1);
  EXPECT_EQ(server.Count("DELETE", "uploadId=UP1"), 0) << "the one used was completed";
  EXPECT_EQ(server.Count("DELETE", "uploadId=OTHER"), 0);
  EXPECT_EQ(server.Count("DELETE", "uploadId=OLD"), 0);
}

// A write whose CreateMultipartUpload went through at once lists nothing afterwards.
TEST(S3FaultTest, CreateMultipartUploadAnsweredAtOnceListsNothing) {
  MultipartServer mp;
  FakeServer server([&](const FakeRequest& r) { return mp.Handle(r); });
  auto store = Open(SmallPartOptions(server));
  auto written = store->Write("big", std::string((12 << 20) + 1, 'z'));
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(server.Count("GET"), 0);
}

TEST(S3FaultTest, PutChecksTheEtagAgainstTheMd5) {
  FakeServer server([&](const FakeRequest&) {
    return FakeReply{
        200, {{"ETag", "\"00000000000000000000000000000000\""}}, "", FakeReply::kNormal, 0};
  });
  auto store = Open(FastRetryOptions(server));
  auto written = store->Write("k", "data");
  EXPECT_EQ(written.status().code(), StatusCode::kCorruption) << written.status().ToString();
}

TEST(S3FaultTest, RangeIgnoredByServerIsCutLocally) {
  FakeServer server([&](const FakeRequest&) {
    return FakeReply{200, {}, "0123456789", FakeReply::kNormal, 0};
  });
  auto store = Open(FastRetryOptions(server));
  auto read = store->Read("k", {3, 4});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "3456");
  EXPECT_EQ(store->Read("k", {20, 1}).status().code(), StatusCode::kInvalidArgument);
}

TEST(S3FaultTest, VirtualHostedAddressing) {
  FakeServer server([&](const FakeRequest&) {
    return FakeReply{200, {}, "v", FakeReply::kNormal, 0};
  });
  s3::S3Options o = FastRetryOptions(server);
  o.endpoint = "http://localhost:" + std::to_string(server.port());
  o.addressing = s3::Addressing::kVirtual;
  auto store = Open(o);
  auto read = store->Read("a b/c");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].Header("host"), "bkt.localhost:" + std::to_string(server.port()));
  EXPECT_EQ(reqs[0].path, "/a%20b/c");
}

TEST(S3FaultTest, ListingDecodesUrlEncodedKeysOnlyWhenEncoded) {
  std::atomic<bool> encoded{true};
  FakeServer server([&](const FakeRequest& r) {
    EXPECT_NE(r.query.find("list-type=2"), std::string::npos);
    EXPECT_NE(r.query.find("prefix=p%2Fa%20b"), std::string::npos) << r.query;
    FakeReply ok;
    ok.body =
        encoded ? "<ListBucketResult><EncodingType>url</EncodingType>"
                  "<Contents><Key>p/a+b%2Bc%25</Key><Size>3</Size><ETag>&quot;e&quot;</ETag>"
                  "<LastModified>2024-01-02T03:04:05.678Z</LastModified></Contents>"
                  "<CommonPrefixes><Prefix>p/a%20b/</Prefix></CommonPrefixes>"
                  "<IsTruncated>true</IsTruncated><NextContinuationToken>T1</NextContinuationToken>"
                  "</ListBucketResult>"
                : "<ListBucketResult><Contents><Key>p/a b%20</Key><Size>1</Size></Contents>"
                  "<IsTruncated>false</IsTruncated></ListBucketResult>";
    return ok;
  });
  auto store = Open(FastRetryOptions(server), "p");
  ListOptions options;
  options.prefix = "a b";
  auto page = store->List(options);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 1u);
  EXPECT_EQ(page->objects[0].key, "a b+c%");
  EXPECT_EQ(page->objects[0].etag, "e");
  EXPECT_EQ(page->objects[0].mtime_ns, int64_t{1704164645} * 1000000000 + 678000000);
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"a b/"});
  EXPECT_EQ(page->next_token, "T1");
  encoded = false;
  page = store->List(options);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects[0].key, "a b%20");
}

}  // namespace
}  // namespace lakepack
