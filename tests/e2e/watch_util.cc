// Helpers of the `lakepack watch` acceptance tests (see watch_util.h).
#include "e2e/watch_util.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

extern char** environ;

namespace lakepack::e2e::watch {

namespace fs = std::filesystem;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

namespace {
std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Test servers
// ---------------------------------------------------------------------------------------------

std::string S3Server::HostPort() const {
  std::string s = endpoint;
  if (s.rfind("http://", 0) == 0) s = s.substr(7);
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

int S3Server::Port() const {
  std::string hp = HostPort();
  auto colon = hp.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(hp.c_str() + colon + 1);
}

std::string Unavailable(const std::string& backend) {
  if (backend == "local") return "";
  std::string var = "LAKEPACK_TEST_STORE_" + Upper(backend) + "_ENDPOINT";
  if (Env(var.c_str()).empty()) {
    return "backend '" + backend + "' is not among the test servers: " + var +
           " is unset (run through ctest, whose s3servers fixture exports it)";
  }
  return "";
}

S3Server ServerOf(const std::string& backend) {
  S3Server s;
  s.backend = backend;
  std::string var = "LAKEPACK_TEST_STORE_" + Upper(backend) + "_";
  auto get = [&](const char* suffix) { return Env((var + suffix).c_str()); };
  s.endpoint = get("ENDPOINT");
  s.key_id = get("ACCESS_KEY_ID");
  s.secret = get("SECRET_ACCESS_KEY");
  s.region = get("REGION").empty() ? "us-east-1" : get("REGION");
  return s;
}

// ---------------------------------------------------------------------------------------------
// CSV files
// ---------------------------------------------------------------------------------------------

namespace {
std::string TagOf(const CsvSpec& spec) { return spec.tag.empty() ? spec.rel : spec.tag; }
}  // namespace

std::string CsvText(const CsvSpec& spec) {
  std::string out = "id,name,amount,src\n";
  const std::string tag = TagOf(spec);
  for (int i = spec.first; i < spec.first + spec.rows; i++) {
    out +=
        std::to_string(i) + ",n" + std::to_string(i) + "," + std::to_string(i) + ".5," + tag + "\n";
  }
  return out;
}

std::string JsonlText(const CsvSpec& spec) {
  std::string out;
  const std::string tag = json(TagOf(spec)).dump();
  for (int i = spec.first; i < spec.first + spec.rows; i++) {
    // Keys in the CSV's column order (the jsonl reader takes the first line's order).
    out += "{\"id\":\"" + std::to_string(i) + "\",\"name\":\"n" + std::to_string(i) +
           "\",\"amount\":\"" + std::to_string(i) + ".5\",\"src\":" + tag + "}\n";
  }
  return out;
}

void Drop(const std::string& dir, const CsvSpec& spec) {
  WriteFile(dir + "/" + spec.rel, CsvText(spec));
}

std::string ParquetKey(const std::string& rel) {
  if (rel.size() >= 4 && Lower(rel.substr(rel.size() - 4)) == ".csv") {
    return rel.substr(0, rel.size() - 4) + ".parquet";
  }
  return rel + ".parquet";
}

std::vector<CsvSpec> NestedSpecs(int n, int rows_base, const std::string& stem) {
  static const char* kDirs[] = {"", "a/", "a/b/", "c/", "c/d/e/"};
  std::vector<CsvSpec> specs;
  int first = 1;
  for (int i = 0; i < n; i++) {
    char name[32];
    std::snprintf(name, sizeof name, "%s%02d.csv", stem.c_str(), i);
    CsvSpec s;
    s.rel = std::string(kDirs[i % 5]) + name;
    s.first = first;
    s.rows = rows_base + (i * 7) % 13;
    first += s.rows;
    specs.push_back(s);
  }
  return specs;
}

std::string Md5Hex(const std::string& path) {
  std::string data = ReadFile(path);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned int i = 0; i < len; i++) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

std::map<std::string, std::string> MultisetsOf(const std::vector<std::string>& paths,
                                               const std::string& reader, std::string* error) {
  error->clear();
  std::map<std::string, std::string> out;
  if (paths.empty()) return out;
  std::string script = std::string(LAKEPACK_SOURCE_DIR) + "/tests/xread/xread.mjs";
  std::vector<std::string> argv = {"node", script, "--reader", reader};
  argv.insert(argv.end(), paths.begin(), paths.end());
  RunResult r = Run(argv);
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.contains("error")) {
      *error = reader + " on " + j.value("file", "?") + ": " + j.value("error", "");
      return {};
    }
    out[j.value("file", "")] = j.value("multiset", "");
  }
  if (out.size() != std::set<std::string>(paths.begin(), paths.end()).size()) {
    *error = "xread.mjs (" + reader + ") read " + std::to_string(out.size()) + " of " +
             std::to_string(paths.size()) + " file(s) (exit " + std::to_string(r.exit_code) +
             "): " + Tail(r.err, 800);
    return {};
  }
  return out;
}

std::map<std::string, std::string> ExpectedMultisets(const std::vector<CsvSpec>& specs,
                                                     const std::string& scratch) {
  static std::atomic<int> n{0};
  std::string dir = scratch + "/expected-" + std::to_string(n++);
  std::vector<std::string> paths;
  std::map<std::string, std::string> key_of;
  for (size_t i = 0; i < specs.size(); i++) {
    std::string p = dir + "/" + std::to_string(i) + ".jsonl";
    WriteFile(p, JsonlText(specs[i]));
    paths.push_back(p);
    key_of[p] = ParquetKey(specs[i].rel);
  }
  std::string error;
  auto sets = MultisetsOf(paths, "jsonl", &error);
  EXPECT_EQ(error, "") << "the expected rows could not be digested";
  std::map<std::string, std::string> out;
  for (auto& [p, m] : sets) out[key_of[p]] = m;
  std::error_code ec;
  fs::remove_all(dir, ec);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint and events
// ---------------------------------------------------------------------------------------------

std::string Checkpoint::Describe() const {
  std::string s = exists ? "" : "(no checkpoint file) ";
  s += std::to_string(lines) + " line(s), " + std::to_string(entries.size()) + " file(s)";
  if (torn_last) s += ", a torn last line";
  if (!bad_lines.empty()) s += ", " + std::to_string(bad_lines.size()) + " bad line(s)";
  s += ":";
  for (auto& [f, j] : entries) s += " " + f;
  return s;
}

Checkpoint ReadCheckpoint(const std::string& path) {
  Checkpoint c;
  c.exists = fs::exists(path);
  if (!c.exists) return c;
  std::string text = ReadFile(path);
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const bool ends_in_newline = !text.empty() && text.back() == '\n';
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    c.lines++;
    const bool last = i + 1 == lines.size();
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("file") || !j["file"].is_string() ||
        (last && !ends_in_newline)) {
      if (last) {
        c.torn_last = true;
      } else {
        c.bad_lines.push_back(line);
      }
      continue;
    }
    c.entries[j["file"].get<std::string>()] = j;
  }
  return c;
}

std::vector<json> ParseEvents(const std::string& out, std::vector<std::string>* not_events) {
  std::vector<json> events;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("event") || !j["event"].is_string()) {
      if (not_events) not_events->push_back(line);
      continue;
    }
    events.push_back(j);
  }
  return events;
}

std::vector<json> Named(const std::vector<json>& events, const std::string& name) {
  std::vector<json> out;
  for (const auto& e : events) {
    if (e.value("event", "") == name) out.push_back(e);
  }
  return out;
}

std::vector<std::string> FilesOf(const std::vector<json>& events, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& e : Named(events, name)) {
    out.push_back(e.contains("file") && e["file"].is_string() ? e["file"].get<std::string>()
                                                              : "(no file)");
  }
  return out;
}

json Last(const std::vector<json>& events, const std::string& name) {
  auto all = Named(events, name);
  return all.empty() ? json(json::value_t::discarded) : all.back();
}

// ---------------------------------------------------------------------------------------------
// Destinations
// ---------------------------------------------------------------------------------------------

namespace {

// The test's own S3 client: boto3 in a separate process, so that what the test sees of a
// bucket does not go through lakepack's S3 code. One process serves the whole test binary
// (Python and boto3 take about a second to start): a JSON request per line on its stdin, a JSON
// answer per line on its stdout. Deletes go one key at a time (DeleteObjects needs a checksum
// header that servers differ on).
const char* kBotoScript = R"PY(
import json, sys
import boto3, botocore
from botocore.config import Config
clients = {}
def client(r):
    k = (r['endpoint'], r['key_id'], r['secret'], r['region'])
    if k not in clients:
        clients[k] = boto3.client('s3', endpoint_url=r['endpoint'], aws_access_key_id=r['key_id'],
                                  aws_secret_access_key=r['secret'], region_name=r['region'],
                                  config=Config(retries={'max_attempts': 5, 'mode': 'standard'},
                                                s3={'addressing_style': 'path'},
                                                connect_timeout=10, read_timeout=120))
    return clients[k]
def code(e):
    return str(e.response.get('Error', {}).get('Code', '?'))
def keys(s3, bucket):
    out = {}
    for page in s3.get_paginator('list_objects_v2').paginate(Bucket=bucket):
        for o in page.get('Contents', []):
            out[o['Key']] = {'size': o['Size'], 'etag': o['ETag'].strip('"')}
    return out
def handle(r):
    s3, op, bucket, args = client(r), r['op'], r['bucket'], r['args']
    if op == 'exists':
        try:
            s3.head_bucket(Bucket=bucket)
            return {'exists': True}
        except botocore.exceptions.ClientError as e:
            if code(e) in ('404', 'NoSuchBucket', 'NotFound'):
                return {'exists': False}
            raise
    if op == 'list':
        return keys(s3, bucket)
    if op == 'get':
        for k, p in zip(args[0::2], args[1::2]):
            body = s3.get_object(Bucket=bucket, Key=k)['Body'].read()
            with open(p, 'wb') as f:
                f.write(body)
        return {'ok': True}
    if op == 'head':
        out = {}
        for k in args:
            h = s3.head_object(Bucket=bucket, Key=k)
            out[k] = {'etag': h['ETag'].strip('"'), 'size': h['ContentLength'],
                      'metadata': h.get('Metadata', {})}
        return out
    if op == 'mb':
        s3.create_bucket(Bucket=bucket)
        return {'ok': True}
    if op == 'put':
        k, p = args[0], args[1]
        meta = dict(a.split('=', 1) for a in args[2:])
        with open(p, 'rb') as f:
            h = s3.put_object(Bucket=bucket, Key=k, Body=f.read(), Metadata=meta)
        return {'etag': h['ETag'].strip('"')}
    if op == 'rb':
        try:
            for k in keys(s3, bucket):
                s3.delete_object(Bucket=bucket, Key=k)
            for u in s3.list_multipart_uploads(Bucket=bucket).get('Uploads', []):
                s3.abort_multipart_upload(Bucket=bucket, Key=u['Key'], UploadId=u['UploadId'])
            s3.delete_bucket(Bucket=bucket)
        except botocore.exceptions.ClientError as e:
            if code(e) not in ('404', 'NoSuchBucket'):
                raise
        return {'ok': True}
    raise ValueError('unknown op ' + op)
for line in sys.stdin:
    try:
        answer = {'ok': True, 'result': handle(json.loads(line))}
    except Exception as e:
        answer = {'ok': False, 'error': type(e).__name__ + ': ' + str(e)}
    sys.stdout.write(json.dumps(answer) + '\n')
    sys.stdout.flush()
)PY";

// The boto3 server: started at the first request, restarted when it died.
class BotoServer {
 public:
  static BotoServer& Get() {
    static BotoServer* server = new BotoServer();
    return *server;
  }

  json Call(const json& request, std::string* error) {
    std::lock_guard<std::mutex> lock(mu_);
    if (pid_ <= 0 && !Start(error)) return json(json::value_t::discarded);
    std::string line = request.dump() + "\n";
    for (size_t at = 0; at < line.size();) {
      ssize_t n = ::write(in_, line.data() + at, line.size() - at);
      if (n <= 0) {
        *error = std::string("boto3 helper: write: ") + std::strerror(errno);
        Stop();
        return json(json::value_t::discarded);
      }
      at += static_cast<size_t>(n);
    }
    auto deadline = std::chrono::steady_clock::now() + kCap;
    for (;;) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string answer = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        auto j = json::parse(answer, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
          *error = "boto3 helper: not JSON: " + answer;
          return json(json::value_t::discarded);
        }
        if (!j.value("ok", false)) {
          *error = "boto3 " + request.value("op", "") + " " + request.value("bucket", "") + ": " +
                   j.value("error", "");
          return json(json::value_t::discarded);
        }
        return j["result"];
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) {
        *error = "boto3 helper: no answer within " + std::to_string(kCap.count()) + " s";
        Stop();
        return json(json::value_t::discarded);
      }
      struct pollfd pfd = {out_, POLLIN, 0};
      int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) continue;
      char buf[65536];
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) {
        *error = "boto3 helper: it ended (see its stderr above)";
        Stop();
        return json(json::value_t::discarded);
      }
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

 private:
  bool Start(std::string* error) {
    int to_child[2], from_child[2];
    if (::pipe2(to_child, O_CLOEXEC) != 0 || ::pipe2(from_child, O_CLOEXEC) != 0) {
      *error = std::string("boto3 helper: pipe: ") + std::strerror(errno);
      return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
    std::vector<std::string> argv = {"env",
                                     "-u",
                                     "AWS_CA_BUNDLE",
                                     "-u",
                                     "AWS_PROFILE",
                                     "-u",
                                     "AWS_ENDPOINT_URL",
                                     "-u",
                                     "AWS_SESSION_TOKEN",
                                     "-u",
                                     "AWS_ACCESS_KEY_ID",
                                     "-u",
                                     "AWS_SECRET_ACCESS_KEY",
                                     "AWS_CONFIG_FILE=/dev/null",
                                     "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
                                     "AWS_REQUEST_CHECKSUM_CALCULATION=when_required",
                                     "AWS_RESPONSE_CHECKSUM_VALIDATION=when_required",
                                     "python3",
                                     "-u",
                                     "-c",
                                     kBotoScript};
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, "env", &fa, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(to_child[0]);
    ::close(from_child[1]);
    if (rc != 0) {
      ::close(to_child[1]);
      ::close(from_child[0]);
      *error = std::string("boto3 helper: spawn: ") + std::strerror(rc);
      return false;
    }
    pid_ = pid;
    in_ = to_child[1];
    out_ = from_child[0];
    buffer_.clear();
    return true;
  }

  void Stop() {
    if (in_ >= 0) ::close(in_);
    if (out_ >= 0) ::close(out_);
    in_ = out_ = -1;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    pid_ = -1;
  }

  std::mutex mu_;
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buffer_;
};

std::atomic<int> g_dst_counter{0};

std::string Slug(const std::string& s) {
  std::string out;
  for (char c : Lower(s)) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      out += c;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.substr(0, 24);
}

}  // namespace

std::unique_ptr<Dst> Dst::Fresh(const std::string& backend, const std::string& slug) {
  std::unique_ptr<Dst> d(new Dst());
  d->backend_ = backend;
  if (backend == "local") {
    d->uri_ = d->scratch_ / "dst/out";  // neither exists yet
    return d;
  }
  d->server_ = ServerOf(backend);
  EXPECT_NE(d->server_.endpoint, "") << Unavailable(backend);
  EXPECT_EQ(d->server_.endpoint.rfind("http://127.0.0.1:", 0), 0u)
      << "refusing an endpoint off 127.0.0.1: " << d->server_.endpoint;
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  // S3 bucket names: 3-63 characters of [a-z0-9-].
  d->bucket_ = "lpw-" + Slug(slug) + "-" + std::to_string(::getpid()) + "-" +
               std::to_string(g_dst_counter++) + "-" + std::to_string((now / 1000) % 1000000);
  d->bucket_ = d->bucket_.substr(0, 63);
  d->uri_ = "s3://" + d->bucket_;
  return d;
}

Dst::~Dst() {
  if (s3() && server_.endpoint.rfind("http://127.0.0.1:", 0) == 0) {
    std::string error;
    Boto({"rb", bucket_}, &error);  // best effort
  }
}

std::map<std::string, std::string> Dst::LakepackEnv(const std::string& endpoint) const {
  if (!s3()) return {};
  return {{"AWS_ENDPOINT_URL", endpoint.empty() ? server_.endpoint : endpoint},
          {"AWS_ACCESS_KEY_ID", server_.key_id},
          {"AWS_SECRET_ACCESS_KEY", server_.secret},
          {"AWS_REGION", server_.region},
          {"AWS_PROFILE", ""},
          {"AWS_SESSION_TOKEN", ""}};
}

json Dst::Boto(const std::vector<std::string>& args, std::string* error) {
  error->clear();
  if (server_.endpoint.rfind("http://127.0.0.1:", 0) != 0) {
    *error = "no endpoint on 127.0.0.1";
    return json(json::value_t::discarded);
  }
  json request = {{"endpoint", server_.endpoint},
                  {"key_id", server_.key_id},
                  {"secret", server_.secret},
                  {"region", server_.region},
                  {"op", args[0]},
                  {"bucket", args[1]},
                  {"args", std::vector<std::string>(args.begin() + 2, args.end())}};
  return BotoServer::Get().Call(request, error);
}

json Dst::BotoForTest(const std::vector<std::string>& args, std::string* error) {
  std::vector<std::string> a = {args[0], bucket_};
  a.insert(a.end(), args.begin() + 1, args.end());
  return Boto(a, error);
}

bool Dst::Exists(std::string* error) {
  error->clear();
  if (!s3()) return fs::exists(uri_);
  auto j = Boto({"exists", bucket_}, error);
  return !j.is_discarded() && j.value("exists", false);
}

std::map<std::string, ObjectView> Dst::Objects(std::string* error) {
  error->clear();
  std::map<std::string, ObjectView> out;
  if (!s3()) {
    if (!fs::exists(uri_)) {
      *error = uri_ + " does not exist";
      return out;
    }
    for (const auto& rel : ListFiles(uri_)) {
      std::string p = uri_ + "/" + rel;
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) continue;
      ObjectView v;
      v.size = st.st_size;
      v.etag = std::to_string(st.st_ino) + ":" +
               std::to_string(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec) + ":" +
               std::to_string(st.st_size);
      v.content_md5 = Md5Hex(p);
      out[rel] = v;
    }
    return out;
  }
  auto j = Boto({"list", bucket_}, error);
  if (j.is_discarded()) return out;
  for (auto& [k, o] : j.items()) {
    ObjectView v;
    v.size = o.value("size", int64_t{0});
    v.etag = o.value("etag", "");
    out[k] = v;
  }
  return out;
}

std::vector<std::string> Dst::Keys(std::string* error) {
  std::vector<std::string> keys;
  for (auto& [k, v] : Objects(error)) keys.push_back(k);
  return keys;
}

std::map<std::string, std::string> Dst::Fetch(const std::vector<std::string>& keys,
                                              std::string* error) {
  error->clear();
  std::map<std::string, std::string> out;
  if (keys.empty()) return out;
  if (!s3()) {
    for (const auto& k : keys) out[k] = uri_ + "/" + k;
    return out;
  }
  std::vector<std::string> args = {"get", bucket_};
  for (const auto& k : keys) {
    // The key's extension, by which tests/xread picks its reader.
    const auto dot = k.rfind('.');
    const std::string ext = dot == std::string::npos ? "" : k.substr(dot);
    std::string p = scratch_ / ("fetch/" + std::to_string(fetched_++) + ext);
    fs::create_directories(fs::path(p).parent_path());
    args.push_back(k);
    args.push_back(p);
    out[k] = p;
  }
  if (Boto(args, error).is_discarded()) return {};
  return out;
}

std::map<std::string, std::map<std::string, std::string>> Dst::Metadata(
    const std::vector<std::string>& keys, std::string* error) {
  error->clear();
  std::map<std::string, std::map<std::string, std::string>> out;
  if (!s3()) {
    for (const auto& k : keys) {
      std::string p = uri_ + "/" + k;
      auto& m = out[k];
      char names[8192];
      ssize_t n = ::listxattr(p.c_str(), names, sizeof names);
      for (ssize_t at = 0; n > 0 && at < n;
           at += static_cast<ssize_t>(std::strlen(names + at)) + 1) {
        std::string name = names + at;
        if (name.rfind("user.", 0) != 0) continue;
        char value[4096];
        ssize_t len = ::getxattr(p.c_str(), name.c_str(), value, sizeof value);
        if (len >= 0) m[name.substr(5)] = std::string(value, static_cast<size_t>(len));
      }
    }
    return out;
  }
  std::vector<std::string> args = {"head", bucket_};
  args.insert(args.end(), keys.begin(), keys.end());
  auto j = Boto(args, error);
  if (j.is_discarded()) return out;
  for (auto& [k, o] : j.items()) {
    auto& m = out[k];
    if (o.contains("metadata")) {
      for (auto& [name, v] : o["metadata"].items()) m[Lower(name)] = v.get<std::string>();
    }
  }
  return out;
}

std::map<std::string, std::string> Dst::Multisets(const std::vector<std::string>& keys,
                                                  const std::string& reader, std::string* error) {
  auto paths = Fetch(keys, error);
  if (!error->empty()) return {};
  std::vector<std::string> list;
  for (auto& [k, p] : paths) list.push_back(p);
  auto sets = MultisetsOf(list, reader, error);
  if (!error->empty()) return {};
  std::map<std::string, std::string> out;
  for (auto& [k, p] : paths) out[k] = sets[p];
  return out;
}

std::string Dst::KeyOf(const std::string& object_uri) const {
  std::string u = object_uri;
  if (u.rfind("file://", 0) == 0) u = u.substr(7);
  const std::string root = uri_ + "/";
  return u.rfind(root, 0) == 0 ? u.substr(root.size()) : object_uri;
}

// ---------------------------------------------------------------------------------------------
// Daemon and scan gate
// ---------------------------------------------------------------------------------------------

std::vector<std::string> WatchArgv(const std::vector<std::string>& args) {
  std::vector<std::string> a = {"watch"};
  a.insert(a.end(), args.begin(), args.end());
  return LakepackArgv(a);
}

Daemon::Daemon(const std::vector<std::string>& argv,
               const std::map<std::string, std::string>& env) {
  Spawned p = Spawn(argv, env);
  pid_ = p.pid;
  out_path_ = p.out_path;
  err_path_ = p.err_path;
  spawn_error_ = p.spawn_error;
}

Daemon::~Daemon() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
  }
  if (!out_path_.empty()) ::unlink(out_path_.c_str());
  if (!err_path_.empty()) ::unlink(err_path_.c_str());
}

bool Daemon::Alive() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  pid_t got = ::waitpid(pid_, &status, WNOHANG);
  if (got == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return got == 0;
}

std::string Daemon::Out() const { return ReadFile(out_path_); }
std::string Daemon::Err() const { return ReadFile(err_path_); }

bool Daemon::WaitUntil(const std::function<bool()>& done, std::chrono::seconds cap,
                       std::string* why) {
  auto deadline = std::chrono::steady_clock::now() + cap;
  for (;;) {
    if (done()) return true;
    if (!Alive()) {
      if (done()) return true;
      *why = "the process ended first (" +
             std::string(WIFEXITED(status_) ? "exit " + std::to_string(WEXITSTATUS(status_))
                                            : "signal " + std::to_string(WTERMSIG(status_))) +
             ")";
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      *why = "not within " + std::to_string(cap.count()) + " s";
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

bool Daemon::WaitEvents(const std::string& name, size_t n, std::chrono::seconds cap,
                        std::string* why) {
  bool ok = WaitUntil([&] { return Named(Events(), name).size() >= n; }, cap, why);
  if (!ok) *why = std::to_string(n) + " '" + name + "' event(s): " + *why;
  return ok;
}

void Daemon::Signal(int sig) {
  if (pid_ > 0 && !reaped_) ::kill(pid_, sig);
}

RunResult Daemon::Finish(std::chrono::seconds cap) {
  RunResult r;
  bool hung = false;
  auto deadline = std::chrono::steady_clock::now() + cap;
  while (Alive()) {
    if (std::chrono::steady_clock::now() > deadline) {
      hung = true;
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      reaped_ = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (pid_ <= 0) {
    r.err = spawn_error_;
    return r;
  }
  r.exit_code = hung ? -1 : WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  if (hung) r.err = "(still running after " + std::to_string(cap.count()) + " s: killed)\n";
  r.out = Out();
  r.err += Err();
  return r;
}

ScanGate::ScanGate(const std::string& path) : path_(path) {
  fs::create_directories(fs::path(path).parent_path());
  if (::mkfifo(path.c_str(), 0600) != 0) {
    ADD_FAILURE() << "mkfifo " << path << ": " << std::strerror(errno);
    return;
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
}

ScanGate::~ScanGate() { Close(); }

void ScanGate::Release() {
  if (fd_ < 0) return;
  const char line[] = "scan\n";
  ssize_t n = ::write(fd_, line, sizeof line - 1);
  EXPECT_EQ(n, static_cast<ssize_t>(sizeof line - 1)) << "write to the scan gate";
}

void ScanGate::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

// ---------------------------------------------------------------------------------------------
// Shared checks
// ---------------------------------------------------------------------------------------------

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string> Rels(const std::vector<CsvSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(s.rel);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ExpectedKeys(const std::vector<CsvSpec>& specs) {
  std::vector<std::string> out;
  for (const auto& s : specs) out.push_back(ParquetKey(s.rel));
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The destination holds one object per spec and nothing else, each with exactly its spec's
// rows (per object, by each reader).
void ExpectMirrors(Dst& dst, const std::vector<CsvSpec>& specs, const std::string& scratch,
                   const std::vector<std::string>& readers) {
  ExpectMirrors(dst, specs, ExpectedMultisets(specs, scratch), readers);
}

void ExpectMirrors(Dst& dst, const std::vector<CsvSpec>& specs,
                   const std::map<std::string, std::string>& expected,
                   const std::vector<std::string>& readers, const std::string& allowed_leftovers) {
  std::string error;
  auto all_keys = dst.Keys(&error);
  ASSERT_EQ(error, "");
  std::vector<std::string> keys, let_stay;
  const std::regex allowed(allowed_leftovers.empty() ? "$^" : allowed_leftovers);
  for (const auto& k : all_keys) {
    if (!allowed_leftovers.empty() && std::regex_match(k, allowed)) {
      let_stay.push_back(k);
    } else {
      keys.push_back(k);
    }
  }
  if (!let_stay.empty()) {
    std::cout << "left in " << dst.uri() << " (allowed here): " << Join(let_stay) << std::endl;
  }
  auto want = ExpectedKeys(specs);
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), keys.begin(), keys.end(),
                      std::back_inserter(missing));
  std::set_difference(keys.begin(), keys.end(), want.begin(), want.end(),
                      std::back_inserter(extra));
  EXPECT_TRUE(missing.empty()) << "objects missing from " << dst.uri() << ": " << Join(missing);
  EXPECT_TRUE(extra.empty()) << "objects in " << dst.uri()
                             << " that no CSV accounts for: " << Join(extra);
  std::vector<std::string> present;
  for (const auto& k : want) {
    if (std::find(keys.begin(), keys.end(), k) != keys.end()) present.push_back(k);
  }
  for (const auto& reader : readers) {
    auto got = dst.Multisets(present, reader, &error);
    EXPECT_EQ(error, "") << reader;
    if (!error.empty()) continue;
    for (const auto& k : present) {
      EXPECT_EQ(got[k], expected.at(k))
          << reader << ": the rows of " << k << " are not exactly its CSV's rows";
    }
  }
}

// The checkpoint records exactly the files of `specs` (by name), each with its MD5, size,
// rows, its object and (S3) that object's ETag; no line is torn or broken.
void ExpectCheckpoint(const std::string& path, const std::string& dir,
                      const std::vector<CsvSpec>& specs, Dst& dst) {
  Checkpoint c = ReadCheckpoint(path);
  ASSERT_TRUE(c.exists) << "no checkpoint at " << path;
  EXPECT_FALSE(c.torn_last) << path << ": " << c.Describe();
  EXPECT_TRUE(c.bad_lines.empty()) << path << ": not JSON lines: " << Join(c.bad_lines, "\n");
  std::vector<std::string> names;
  for (auto& [f, j] : c.entries) names.push_back(f);
  EXPECT_EQ(names, Rels(specs)) << path << ": " << c.Describe();
  std::string error;
  auto objects = dst.Objects(&error);
  std::vector<std::string> wrong_rows;  // one failure for them all: they share one cause
  for (const auto& s : specs) {
    auto it = c.entries.find(s.rel);
    if (it == c.entries.end()) continue;
    const json& e = it->second;
    const std::string local = dir + "/" + s.rel;
    EXPECT_EQ(e.value("md5", ""), Md5Hex(local)) << s.rel << ": " << e.dump();
    EXPECT_EQ(e.value("size", int64_t{-1}), static_cast<int64_t>(fs::file_size(local)))
        << s.rel << ": " << e.dump();
    if (e.value("rows", int64_t{-1}) != s.rows) {
      wrong_rows.push_back(s.rel + " (" + std::to_string(s.rows) + " rows, the line says " +
                           (e.contains("rows") ? e["rows"].dump() : "nothing") + ")");
    }
    EXPECT_TRUE(e.contains("mtime_ns") && e["mtime_ns"].is_number_integer()) << e.dump();
    EXPECT_TRUE(e.contains("time") && e["time"].is_string()) << e.dump();
    const std::string key = ParquetKey(s.rel);
    EXPECT_EQ(dst.KeyOf(e.value("object", "")), key) << s.rel << ": " << e.dump();
    if (dst.s3() && objects.count(key)) {
      EXPECT_EQ(StripQuotes(e.value("etag", "")), objects[key].etag)
          << s.rel << ": the checkpoint's ETag is not the object's: " << e.dump();
    }
  }
  EXPECT_TRUE(wrong_rows.empty()) << path << ": the wrong row count for " << wrong_rows.size()
                                  << " file(s): " << Join(wrong_rows);
}

// What a test lists of a destination to compare before and after: key -> ETag.
std::map<std::string, std::string> Etags(Dst& dst) {
  std::string error;
  std::map<std::string, std::string> out;
  for (auto& [k, v] : dst.Objects(&error)) out[k] = v.etag;
  EXPECT_EQ(error, "");
  return out;
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

}  // namespace lakepack::e2e::watch
