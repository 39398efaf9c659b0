// Test lakes (see lake.h).
#include "e2e/lake.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "commit/commit.h"
#include "lakepack/uri.h"
#include "servers/servers_env.h"

namespace lakepack {
void PrintTo(const RowDigest& d, std::ostream* os) {
  *os << "RowDigest{rows " << d.rows << ", checksum " << d.checksum << "}";
}
}  // namespace lakepack

namespace lakepack::e2e {

namespace {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

namespace {
// The URI LAKEPACK_TEST_STORES gives store `name` ("moto=s3://b/conf;rgw=s3://c/conf"), or "".
std::string StoreUri(const std::string& name) {
  std::string all = Env("LAKEPACK_TEST_STORES");
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find(';', pos);
    if (end == std::string::npos) end = all.size();
    std::string item = all.substr(pos, end - pos);
    auto eq = item.find('=');
    if (eq != std::string::npos && item.substr(0, eq) == name) return item.substr(eq + 1);
    pos = end + 1;
  }
  return "";
}

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

std::string TestLake::Unavailable(const std::string& backend) {
  if (backend == "local" || backend == "moto" || backend == "s3rver") return "";
  std::string var = "LAKEPACK_TEST_STORE_" + Upper(backend) + "_ENDPOINT";
  if (Env(var.c_str()).empty()) {
    return "store '" + backend + "' is not among the test servers: " + var +
           " is unset (servers.env does not export it)";
  }
  std::string uri = StoreUri(backend);
  if (uri.rfind("s3://", 0) != 0) {
    return "store '" + backend + "' has no s3:// URI in LAKEPACK_TEST_STORES ('" +
           Env("LAKEPACK_TEST_STORES") + "')";
  }
  return "";
}

std::unique_ptr<TestLake> TestLake::Open(const std::string& backend, const std::string& name) {
  auto lake = std::make_unique<TestLake>();
  lake->backend_ = backend;
  if (backend == "local") {
    lake->uri_ = lake->scratch_ / "lake";
    auto st = OpenStore(lake->uri_, {.create_local_root = true});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) lake->store_ = *st;
  } else {
    // "moto" (auth off) or "s3rver": both started by the s3servers CTest fixture; any other
    // name is a store of LAKEPACK_TEST_STORES (rgw).
    std::string endpoint, bucket, key_id, secret, region = "us-east-1";
    if (backend == "moto" || backend == "s3rver") {
      std::string var = backend == "moto" ? "LAKEPACK_TEST_S3_" : "LAKEPACK_TEST_S3RVER_";
      auto get = [&](const std::string& suffix) { return Env((var + suffix).c_str()); };
      endpoint = get("ENDPOINT");
      bucket = get("BUCKET");
      key_id = get("ACCESS_KEY_ID");
      secret = get("SECRET_ACCESS_KEY");
    } else {
      std::string var = "LAKEPACK_TEST_STORE_" + Upper(backend) + "_";
      auto get = [&](const std::string& suffix) { return Env((var + suffix).c_str()); };
      endpoint = get("ENDPOINT");
      key_id = get("ACCESS_KEY_ID");
      secret = get("SECRET_ACCESS_KEY");
      if (!get("REGION").empty()) region = get("REGION");
      std::string uri = StoreUri(backend);
      if (uri.rfind("s3://", 0) == 0) bucket = uri.substr(5, uri.find('/', 5) - 5);
    }
    EXPECT_NE(endpoint, "") << "run through ctest (s3servers fixture)";
    EXPECT_NE(bucket, "") << backend << ": no bucket";
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    lake->bucket_ = bucket;
    lake->prefix_ =
        "e2e/" + name + "-" + std::to_string(::getpid()) + "-" + std::to_string(now % 1000000007);
    lake->uri_ = "s3://" + bucket + "/" + lake->prefix_;
    lake->env_ = {{"AWS_ENDPOINT_URL", endpoint},
                  {"AWS_ACCESS_KEY_ID", key_id},
                  {"AWS_SECRET_ACCESS_KEY", secret},
                  {"AWS_REGION", region},
                  {"AWS_PROFILE", ""},
                  {"AWS_SESSION_TOKEN", ""}};
    lakepack::testing::ScopedStoreEnv scoped(backend);
    auto st = OpenStore(lake->uri_);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) lake->store_ = *st;
  }
  auto e = FormatEngine::Open({.memory_limit = "1GB", .threads = 2});
  EXPECT_TRUE(e.ok());
  if (e.ok()) lake->engine_ = std::move(*e);
  return lake;
}

TestLake::~TestLake() {
  if (store_ && uri_.rfind("s3://", 0) == 0) {
    auto all = store_->ListAll("");
    if (all.ok()) {
      std::vector<std::string> keys;
      for (auto& o : *all) keys.push_back(o.key);
      (void)store_->Delete(keys);
    }
  }
}

RunResult TestLake::Run(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& extra) {
  auto env = env_;
  for (auto& [k, v] : extra) env[k] = v;
  return Lakepack(args, env);
}

std::unique_ptr<TestLake> TestLake::Clone(const std::string& name) {
  auto twin = Open(backend_, name);
  const std::string from = store_->Uri(), to = twin->store_->Uri();
  for (const std::string& key : Keys()) {
    std::string path = Fetch(key);
    // A journal record names the store its inputs are in (input_root): recovery on the copy
    // must act on the copy's inputs, never on this lake's.
    if (key.rfind(kJournalPrefix, 0) == 0) {
      std::string record = ReadFile(path);
      for (size_t at = record.find(from); at != std::string::npos; at = record.find(from, at)) {
        record.replace(at, from.size(), to);
        at += to.size();
      }
      WriteFile(path, record);
    }
    // With the object's tag and metadata: recovery tells a task's own write by its tag, and
    // a twin without them would decide otherwise than the lake it stands for.
    auto info = store_->Stat(key);
    EXPECT_TRUE(info.ok() && info->has_value()) << key;
    PutOptions put;
    if (info.ok() && info->has_value()) {
      put.tag = (*info)->tag;
      put.metadata = (*info)->metadata;
    }
    auto w = twin->store_->WriteFromFile(key, path, put);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
  }
  return twin;
}

std::vector<std::string> TestLake::Keys() {
  std::vector<std::string> keys;
  auto all = store_->ListAll("");
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (!all.ok()) return keys;
  for (auto& o : *all) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::vector<std::string> TestLake::DataKeys() {
  std::vector<std::string> keys;
  for (auto& k : Keys()) {
    if (k.rfind("_lakepack/", 0) != 0) keys.push_back(k);
  }
  return keys;
}

std::string TestLake::Fetch(const std::string& key) {
  std::string path = scratch_ / ("fetch/" + std::to_string(fetched_++) + ".parquet");
  WriteFile(path, "");
  Status st = store_->ReadToFile(key, path);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return path;
}

RowDigest TestLake::Digest() {
  std::vector<std::string> paths;
  for (auto& k : DataKeys()) {
    if (k.size() > 8 && k.compare(k.size() - 8, 8, ".parquet") == 0) paths.push_back(Fetch(k));
  }
  if (paths.empty()) return {};
  auto d = engine_->Digest({paths, FileFormat::kParquet});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : RowDigest{};
}

int64_t TestLake::Rows(const std::string& key) {
  auto info = engine_->Inspect(Fetch(key), FileFormat::kParquet);
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? info->rows : -1;
}

void TestLake::Put(const std::string& key, const std::string& local_path) {
  auto r = store_->WriteFromFile(key, local_path);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

void TestLake::PutTree(const std::string& dir) {
  for (const auto& f : ListFiles(dir)) Put(f, dir + "/" + f);
}

std::string TestLake::KeyOf(std::string uri) const {
  if (uri.rfind("file://", 0) == 0) uri = uri.substr(7);
  const std::string root = uri_ + "/";
  return uri.rfind(root, 0) == 0 ? uri.substr(root.size()) : uri;
}

RowDigest TestLake::DigestFiles(const std::vector<std::string>& local_parquet) {
  if (local_parquet.empty()) return {};
  auto d = engine_->Digest({local_parquet, FileFormat::kParquet});
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? *d : RowDigest{};
}

std::vector<std::string> TestLake::CsvRows(const std::vector<std::string>& keys) {
  std::vector<std::string> rows;
  if (keys.empty()) return rows;
  std::vector<std::string> paths;
  for (const auto& k : keys) paths.push_back(Fetch(k));
  std::string csv = scratch_ / ("rows" + std::to_string(fetched_++) + ".csv");
  WriteSpec out;
  out.path = csv;
  out.format = FileFormat::kCsv;
  auto n = engine_->Copy({paths, FileFormat::kParquet}, out);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  if (!n.ok()) return rows;
  std::ifstream f(csv);
  std::string line;
  bool header = true;
  while (std::getline(f, line)) {
    if (header) {
      header = false;
      continue;
    }
    rows.push_back(line);
  }
  std::filesystem::remove(csv);
  for (const auto& p : paths) std::filesystem::remove(p);
  return rows;
}

std::vector<std::string> TestLake::LakepackLeftovers() {
  static const std::regex kCache("pack-[^/]*\\.json");
  std::vector<std::string> out;
  for (const auto& k : Keys()) {
    size_t at = k.rfind("_lakepack/", 0) == 0 ? 0 : k.find("/_lakepack/");
    if (at == std::string::npos) continue;
    size_t rest = k.find('/', at + 1) + 1;
    if (std::regex_match(k.substr(rest), kCache)) continue;
    out.push_back(k);
  }
  return out;
}

std::vector<std::string> TestLake::OpenMultipartUploads() {
  std::vector<std::string> keys;
  if (uri_.rfind("s3://", 0) != 0) return keys;
  const std::string endpoint = env_.at("AWS_ENDPOINT_URL");
  if (endpoint.rfind("http://127.0.0.1:", 0) != 0) {
    ADD_FAILURE() << "refusing to list uploads at " << endpoint << ": not on 127.0.0.1";
    return keys;
  }
  // The aws CLI on its own settings alone: no profile, no config file, no CA bundle (plain
  // HTTP on loopback; see docs/testing.md, AWS_CA_BUNDLE).
  auto r = e2e::Run({"env",
                     "-u",
                     "AWS_CA_BUNDLE",
                     "-u",
                     "AWS_PROFILE",
                     "-u",
                     "AWS_SESSION_TOKEN",
                     "-u",
                     "AWS_ENDPOINT_URL",
                     "aws",
                     "s3api",
                     "list-multipart-uploads",
                     "--bucket",
                     bucket_,
                     "--prefix",
                     prefix_ + "/",
                     "--endpoint-url",
                     endpoint,
                     "--output",
                     "json"},
                    {{"AWS_ACCESS_KEY_ID", env_.at("AWS_ACCESS_KEY_ID")},
                     {"AWS_SECRET_ACCESS_KEY", env_.at("AWS_SECRET_ACCESS_KEY")},
                     {"AWS_DEFAULT_REGION", env_.at("AWS_REGION")},
                     {"AWS_CONFIG_FILE", "/dev/null"},
                     {"AWS_SHARED_CREDENTIALS_FILE", "/dev/null"}});
  EXPECT_EQ(r.exit_code, 0) << "aws s3api list-multipart-uploads failed:\n" << r.All();
  if (r.exit_code != 0) return keys;
  auto j = nlohmann::json::parse(r.out.empty() ? "{}" : r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "aws s3api list-multipart-uploads printed:\n" << r.out;
  if (j.is_discarded() || !j.contains("Uploads") || !j["Uploads"].is_array()) return keys;
  for (const auto& u : j["Uploads"]) {
    // Filtered here too: some servers (moto) ignore the prefix.
    std::string key = u.value("Key", "");
    if (key.rfind(prefix_ + "/", 0) == 0) keys.push_back(key.substr(prefix_.size() + 1));
  }
  std::sort(keys.begin(), keys.end());
  return keys;
}

std::string SampleTree(const ScratchDir& dir, const std::vector<std::string>& flags) {
  std::string root = dir / "tree";
  std::vector<std::string> args = {"sample", root};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("--quiet");
  auto r = Lakepack(args);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  return root;
}

int64_t CountOps(TestLake& lake, const LakeArgs& args,
                 const std::map<std::string, std::string>& extra) {
  auto twin = lake.Clone("count");
  std::string count_file = twin->scratch() / "ops.txt";
  auto env = extra;
  env["LAKEPACK_COUNT_OPS"] = count_file;
  auto counted = twin->Run(args(*twin), env);
  EXPECT_EQ(counted.exit_code, 0) << "the counting run failed:\n" << counted.All();
  if (counted.exit_code != 0) return 0;
  return std::atoll(ReadFile(count_file).c_str());
}

std::string RandomKill::Where() const {
  return "op " + std::to_string(op) + " of " + std::to_string(ops);
}

RandomKill KillAtRandomOp(TestLake& lake, const LakeArgs& args,
                          const std::map<std::string, std::string>& extra, std::mt19937& rng) {
  RandomKill kill;
  kill.ops = CountOps(lake, args, extra);
  if (kill.ops < 1) {
    ADD_FAILURE() << "the run reaches no crash point to kill it at";
    return kill;
  }
  kill.op = std::uniform_int_distribution<int64_t>(1, kill.ops)(rng);
  auto env = extra;
  env["LAKEPACK_CRASH_AT"] = "op:" + std::to_string(kill.op);
  kill.run = lake.Run(args(lake), env);
  return kill;
}

}  // namespace lakepack::e2e
