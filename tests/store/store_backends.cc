// Builds the conformance suite's backends and gives each test a store of its own.
#include "store_backends.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "lakepack/uri.h"
#include "servers/servers_env.h"
#include "store/local_store.h"
#include "store/prefix_store.h"
#include "store/s3/s3_client.h"
#include "store/s3/s3_options.h"

namespace lakepack::testing {

namespace {

// S3 caps DeleteObjects at 1000 keys per request; stay under it so cleanup is one call each.
constexpr size_t kCleanupBatch = 1000;

std::string Sanitize(std::string_view s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<std::string> Deviations(const std::string& name) {
  std::string var = "LAKEPACK_TEST_STORE_";
  for (char c : name) var += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  var += "_DEVIATIONS";
  std::vector<std::string> out;
  const char* value = std::getenv(var.c_str());
  if (value == nullptr) return out;
  std::string_view rest = value;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    if (std::find(std::begin(kKnownDeviations), std::end(kKnownDeviations), item) ==
        std::end(kKnownDeviations)) {
      // A typo must not silently keep a test running that was meant to be skipped, or the
      // other way round: say so where the run's output shows it.
      std::cerr << var << ": unknown deviation '" << item << "' ignored\n";
      continue;
    }
    out.push_back(item);
  }
  return out;
}

std::vector<StoreBackend> ReadBackends() {
  std::vector<StoreBackend> backends = {{"local", "", false}, {"local_prefixed", "", true}};
  // Runs during static initialisation (INSTANTIATE_TEST_SUITE_P), possibly before the loader's
  // own initializer: make sure $LAKEPACK_TEST_SERVERS_ENV is in the environment already.
  LoadServersEnvOnce();
  const char* env = std::getenv("LAKEPACK_TEST_STORES");
  if (env == nullptr) {
    // CTest lists the tests at build time, before the servers run: name the remote stores the
    // fixture always provides, so that the list is the same then and at run time. Run without
    // the servers, these tests fail (they are not skipped: a skipped store suite proves nothing).
    for (const char* name : {"moto", "s3rver", "rgw"}) {
      StoreBackend b;
      b.name = name;
      b.missing_env = true;
      backends.push_back(b);
    }
    return backends;
  }
  std::string_view rest = env;
  int unnamed = 0;
  while (!rest.empty()) {
    size_t semi = rest.find(';');
    std::string entry = Trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    if (entry.empty()) continue;
    StoreBackend backend;
    size_t eq = entry.find('=');
    size_t scheme = entry.find("://");
    if (eq != std::string::npos && (scheme == std::string::npos || eq < scheme)) {
      backend.name = Sanitize(Trim(entry.substr(0, eq)));
      backend.uri = Trim(entry.substr(eq + 1));
    } else {
      backend.name = "store" + std::to_string(++unnamed);
      backend.uri = entry;
    }
    backend.deviations = Deviations(backend.name);
    backends.push_back(std::move(backend));
  }
  return backends;
}

}  // namespace

std::vector<StoreBackend> TestBackends() {
  // gtest asks once per TEST_P; read the environment (and warn about it) only once.
  static const std::vector<StoreBackend> backends = ReadBackends();
  return backends;
}

Result<std::unique_ptr<TestStore>> TestStore::Open(const StoreBackend& backend,
                                                   std::string_view test_name) {
  std::unique_ptr<TestStore> t(new TestStore());
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/lakepack-store-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) return PosixError("mkdtemp " + pattern, errno);
  t->temp_dir_ = pattern;
  t->scratch_dir_ = pattern + "/scratch";
  std::filesystem::create_directory(t->scratch_dir_);

  if (backend.missing_env) {
    return Status::FailedPrecondition(
        "store '" + backend.name +
        "' is not configured: run through ctest (which starts tests/servers/start.sh) or set "
        "LAKEPACK_TEST_SERVERS_ENV");
  }
  if (backend.uri.empty()) {
    LP_ASSIGN_OR_RETURN(t->store_, OpenLocalStore(pattern + "/root", /*create_root=*/true));
    if (backend.local_prefixed) t->store_ = MakePrefixStore(t->store_, "nested/prefix");
    return t;
  }
  Result<std::shared_ptr<ObjectStore>> base = [&] {
    // Each remote store may have its own endpoint and keys (LAKEPACK_TEST_STORE_<NAME>_*);
    // the store reads the AWS variables once, when it opens.
    ScopedStoreEnv env(backend.name);
    return OpenStore(backend.uri);
  }();
  if (!base.ok()) return base.status().WithContext("open test store " + backend.uri);
  // Unique per test and per run, so parallel runs and leftovers of a crashed run never meet.
  static std::atomic<int> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  std::string prefix =
      "lakepack-conformance/" + Sanitize(test_name) + "-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()) + "-" +
      std::to_string(counter++);
  t->store_ = MakePrefixStore(*base, prefix);
  t->remote_ = true;
  t->backend_name_ = backend.name;
  return t;
}

Result<std::optional<std::string>> TestStore::StartUpload(std::string_view key) {
  if (!remote_) return std::optional<std::string>();
  // s3://bucket/full/key, from the store itself.
  const std::string uri = store_->UriOf(key);
  const std::string rest = uri.substr(uri.find("://") + 3);
  const size_t slash = rest.find('/');
  s3::S3Request req;
  req.kind = s3::RequestKind::kMultipartCreate;
  req.method = "POST";
  req.bucket = rest.substr(0, slash);
  req.key = rest.substr(slash + 1);
  req.query = {{"uploads", ""}};
  req.send_body = true;
  Result<s3::S3Options> options = [&] {
    ScopedStoreEnv env(backend_name_);
    return s3::S3Options::FromEnv();
  }();
  LP_RETURN_IF_ERROR(options.status());
  LP_ASSIGN_OR_RETURN(std::shared_ptr<s3::S3Client> client, s3::S3Client::Make(*options));
  LP_ASSIGN_OR_RETURN(s3::HttpResponse resp, client->Execute(req));
  const size_t open = resp.body.find("<UploadId>");
  const size_t close = resp.body.find("</UploadId>");
  if (open == std::string::npos || close == std::string::npos) {
    return Status::Corruption(uri + ": CreateMultipartUpload answered no UploadId: " + resp.body);
  }
  return std::optional<std::string>(resp.body.substr(open + 10, close - open - 10));
}

TestStore::~TestStore() {
  if (remote_ && store_) {
    // Uploads a test started (or left by a failed write) are billed until aborted.
    Result<std::vector<PendingUpload>> pending = store_->ListPendingUploads("");
    if (pending.ok()) {
      for (const PendingUpload& upload : *pending) (void)store_->AbortPendingUpload(upload);
    }
    Result<std::vector<ObjectInfo>> left = store_->ListAll("");
    if (!left.ok()) {
      std::cerr << "cleanup of " << store_->Uri() << " failed: " << left.status().ToString()
                << "\n";
    } else {
      std::vector<std::string> keys;
      for (const ObjectInfo& info : *left) {
        keys.push_back(info.key);
        if (keys.size() == kCleanupBatch) {
          Status st = store_->Delete(keys);
          if (!st.ok()) std::cerr << "cleanup: " << st.ToString() << "\n";
          keys.clear();
        }
      }
      if (!keys.empty()) {
        Status st = store_->Delete(keys);
        if (!st.ok()) std::cerr << "cleanup: " << st.ToString() << "\n";
      }
    }
  }
  store_.reset();
  if (!temp_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(temp_dir_, ec);
  }
}

}  // namespace lakepack::testing
