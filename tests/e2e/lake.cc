// Test lakes (see lake.h).
#include "e2e/lake.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>

#include "commit/commit.h"
#include "lakepack/uri.h"
#include "servers/servers_env.h"

namespace lakepack::e2e {

namespace {
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}
}  // namespace

std::unique_ptr<TestLake> TestLake::Open(const std::string& backend, const std::string& name) {
  auto lake = std::make_unique<TestLake>();
  lake->backend_ = backend;
  if (backend == "local") {
    lake->uri_ = lake->scratch_ / "lake";
    auto st = OpenStore(lake->uri_, {.create_local_root = true});
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    if (st.ok()) lake->store_ = *st;
  } else {
    // "moto" (auth off) or "s3rver": both started by the s3servers CTest fixture.
    std::string var = backend == "moto" ? "LAKEPACK_TEST_S3_" : "LAKEPACK_TEST_S3RVER_";
    auto get = [&](const std::string& suffix) { return Env((var + suffix).c_str()); };
    EXPECT_NE(get("ENDPOINT"), "") << "run through ctest (s3servers fixture)";
    auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    lake->uri_ = "s3://" + get("BUCKET") + "/e2e/" + name + "-" + std::to_string(::getpid()) + "-" +
                 std::to_string(now % 1000000007);
    lake->env_ = {{"AWS_ENDPOINT_URL", get("ENDPOINT")},
                  {"AWS_ACCESS_KEY_ID", get("ACCESS_KEY_ID")},
                  {"AWS_SECRET_ACCESS_KEY", get("SECRET_ACCESS_KEY")},
                  {"AWS_REGION", "us-east-1"},
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
    twin->Put(key, path);
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

std::string RandomKill::Where() const {
  return "op " + std::to_string(op) + " of " + std::to_string(ops);
}

RandomKill KillAtRandomOp(TestLake& lake, const LakeArgs& args,
                          const std::map<std::string, std::string>& extra, std::mt19937& rng) {
  RandomKill kill;
  {
    auto twin = lake.Clone("count");
    std::string count_file = twin->scratch() / "ops.txt";
    auto env = extra;
    env["LAKEPACK_COUNT_OPS"] = count_file;
    auto counted = twin->Run(args(*twin), env);
    EXPECT_EQ(counted.exit_code, 0) << "the counting run failed:\n" << counted.All();
    kill.ops = std::atoll(ReadFile(count_file).c_str());
  }
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
