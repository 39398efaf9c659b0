// lakepack's S3 store through the fault proxy (tests/faults/fault_proxy.py) in front of moto
// with signature checking off: with a share of requests failing (500, 503, SlowDown, resets,
// truncated bodies) transfers still finish with the right bytes; when every request fails the
// store gives up within its bounds, with a clear error that holds no secret. Public API only
// (OpenStore with the AWS_* environment). Skipped unless the test servers run
// (LAKEPACK_TEST_S3_ENDPOINT / LAKEPACK_TEST_S3_PORT, from tests/servers/start.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "faults/fault_proxy_process.h"
#include "lakepack/object_store.h"
#include "lakepack/uri.h"

namespace lakepack {
namespace {

using ::lakepack::testing::FaultProxy;
using ::lakepack::testing::FaultProxyOptions;

// Distinctive, so that a grep of every message proves it never leaks.
constexpr const char* kSecret = "fault-test-secret-Zq8v";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

std::string RandomBytes(size_t size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string data(size, '\0');
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  return data;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class S3FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    upstream_port_ = std::atoi(Env("LAKEPACK_TEST_S3_PORT").c_str());
    bucket_ = Env("LAKEPACK_TEST_S3_BUCKET");
    if (upstream_port_ <= 0 || bucket_.empty()) {
      GTEST_SKIP() << "the test servers are not running (tests/servers/start.sh)";
    }
    std::string dir = ::testing::TempDir() + "/lakepack-faults-XXXXXX";
    ASSERT_NE(::mkdtemp(dir.data()), nullptr);
    scratch_ = dir;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = "lakepack-faults/" + std::string(info->name()) + "-" + std::to_string(::getpid()) +
              "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  }

  void TearDown() override {
    proxy_.reset();
    if (!scratch_.empty()) std::filesystem::remove_all(scratch_);
  }

  // Starts a proxy with `options` and opens s3://bucket/prefix through it. Retries are quick
  // here so that the never-ending case ends fast; their count stays the store's concern.
  std::shared_ptr<ObjectStore> OpenThroughProxy(FaultProxyOptions options) {
    options.upstream_port = upstream_port_;
    auto proxy = FaultProxy::Start(options);
    EXPECT_TRUE(proxy.ok()) << proxy.status().ToString();
    if (!proxy.ok()) return nullptr;
    proxy_ = std::move(*proxy);
    ::setenv("AWS_ENDPOINT_URL", proxy_->endpoint().c_str(), 1);
    ::setenv("AWS_ACCESS_KEY_ID", "testing", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", kSecret, 1);
    ::setenv("AWS_REGION", "us-east-1", 1);
    ::unsetenv("AWS_SESSION_TOKEN");
    ::unsetenv("AWS_PROFILE");
    ::setenv("LAKEPACK_S3_RETRY_BASE_MS", "5", 1);
    ::setenv("LAKEPACK_S3_RETRY_MAX_DELAY_MS", "200", 1);
    ::setenv("LAKEPACK_S3_MAX_RETRIES", "10", 1);
    // Every fault kind used here ends its connection, so the idle timeout never ends a fault;
    // it only catches a hang. 5 s turned a slow moto answer on a loaded machine into a retry.
    ::setenv("LAKEPACK_S3_IDLE_TIMEOUT_S", "60", 1);
    auto store = OpenStore("s3://" + bucket_ + "/" + prefix_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }

  // A store straight to moto, for setting up and checking without faults.
  std::shared_ptr<ObjectStore> OpenDirect() {
    ::setenv("AWS_ENDPOINT_URL", Env("LAKEPACK_TEST_S3_ENDPOINT").c_str(), 1);
    auto store = OpenStore("s3://" + bucket_ + "/" + prefix_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? *store : nullptr;
  }

  std::string WriteLocal(const std::string& name, const std::string& data) {
    std::string path = scratch_ + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(data.data(), static_cast<std::streamsize>(data.size()));
    return path;
  }

  int upstream_port_ = 0;
  std::string bucket_;
  std::string prefix_;
  std::string scratch_;
  std::unique_ptr<FaultProxy> proxy_;
};

// 100 MB up (multipart, parts in parallel) and down (ranged), plus many small objects, listed
// in pages, through 30% faults of every kind: every byte arrives.
TEST_F(S3FaultsTest, TransfersFinishWithTheRightBytes) {
  FaultProxyOptions faults;
  faults.rate = 0.3;
  faults.seed = 7;
  auto store = OpenThroughProxy(faults);
  ASSERT_NE(store, nullptr);
  const size_t mb = std::strtoul(
      Env("LAKEPACK_TEST_S3_BIG_MB").empty() ? "100" : Env("LAKEPACK_TEST_S3_BIG_MB").c_str(),
      nullptr, 10);
  const std::string big = RandomBytes(mb * 1000 * 1000, 1);
  const std::string big_path = WriteLocal("big.bin", big);
  auto written = store->WriteFromFile("big.bin", big_path);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(written->size, static_cast<int64_t>(big.size()));
  const std::string back_path = scratch_ + "/big.back";
  Status st = store->ReadToFile("big.bin", back_path);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ReadFile(back_path) == big) << "downloaded bytes differ";
  auto range = store->Read("big.bin", ByteRange{12345, 1000000});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_TRUE(*range == big.substr(12345, 1000000));

  std::vector<std::string> keys;
  for (int i = 0; i < 40; ++i) {
    std::string key = "small/" + std::to_string(1000 + i);
    auto w = store->Write(key, RandomBytes(10000 + i, 100 + i));
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    keys.push_back(key);
  }
  std::vector<std::string> listed;
  ListOptions list;
  list.prefix = "small/";
  list.max_keys = 7;
  do {
    auto page = store->List(list);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const ObjectInfo& o : page->objects) listed.push_back(o.key);
    list.continuation_token = page->next_token;
  } while (!list.continuation_token.empty());
  EXPECT_EQ(listed, keys);
  for (int i = 0; i < 40; ++i) {
    auto r = store->Read(keys[i]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(*r == RandomBytes(10000 + i, 100 + i)) << keys[i];
  }
  keys.push_back("big.bin");
  st = store->Delete(keys);
  ASSERT_TRUE(st.ok()) << st.ToString();

  EXPECT_GT(proxy_->faults(), 10) << proxy_->log();
  RecordProperty("faults", proxy_->faults());
  auto direct = OpenDirect();
  ASSERT_NE(direct, nullptr);
  auto left = direct->ListAll("");
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  EXPECT_TRUE(left->empty()) << left->size() << " objects left, e.g. " << left->front().key;
}

// Downloads whose bodies are cut short or reset half-way are retried, never taken as whole.
TEST_F(S3FaultsTest, CutBodiesAreNeverTakenAsWhole) {
  auto direct = OpenDirect();
  ASSERT_NE(direct, nullptr);
  const std::string data = RandomBytes(20 * 1000 * 1000, 3);
  ASSERT_TRUE(direct->Write("cut.bin", data).ok());
  FaultProxyOptions faults;
  faults.rate = 0.5;
  faults.kinds = "truncate,reset-body";
  faults.seed = 11;
  faults.match = "^GET ";
  auto store = OpenThroughProxy(faults);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) {
    auto r = store->Read("cut.bin");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_TRUE(*r == data) << "read " << i << " gave " << r->size() << " bytes";
  }
  EXPECT_GT(proxy_->faults(), 0) << proxy_->log();
  EXPECT_TRUE(store->Delete({"cut.bin"}).ok());
}

// Faults that never stop: each operation gives up within the retry bounds with one clear
// message naming the endpoint, bucket and key, and never the secret.
TEST_F(S3FaultsTest, GivesUpClearlyWhenFaultsNeverStop) {
  FaultProxyOptions faults;
  faults.rate = 1.0;
  faults.kinds = "500,503,slowdown,reset";
  auto store = OpenThroughProxy(faults);
  ASSERT_NE(store, nullptr);
  const std::string path = WriteLocal("x.bin", "hello");
  auto start = std::chrono::steady_clock::now();
  std::vector<Status> errors;
  errors.push_back(store->Write("never.txt", "data").status());
  errors.push_back(store->WriteFromFile("never.bin", path).status());
  errors.push_back(store->Read("never.txt").status());
  errors.push_back(store->Stat("never.txt").status());
  errors.push_back(store->List({}).status());
  auto elapsed = std::chrono::steady_clock::now() - start;
  for (const Status& e : errors) {
    EXPECT_FALSE(e.ok());
    const std::string text = e.ToString();
    EXPECT_EQ(text.find(kSecret), std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), std::string::npos) << "one line: " << text;
    EXPECT_NE(text.find(bucket_), std::string::npos) << text;
  }
  EXPECT_NE(errors[0].ToString().find("never.txt"), std::string::npos) << errors[0].ToString();
  RecordProperty("write_error", errors[0].ToString());  // in --gtest_output=xml, for a look
  EXPECT_LT(elapsed, std::chrono::seconds(60));
  EXPECT_GE(proxy_->faults(), 5 * 2) << "each operation should have been tried more than once";
  EXPECT_EQ(proxy_->log().find(kSecret), std::string::npos);
}

}  // namespace
}  // namespace lakepack
