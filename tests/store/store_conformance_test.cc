// The store conformance suite: one set of behaviours (object_store.h's contract) checked
// against every ObjectStore, local and remote alike (see store_backends.h for the list).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lakepack/object_store.h"
#include "store_backends.h"

namespace lakepack::testing {
namespace {

#define ASSERT_OK(expr)                                       \
  do {                                                        \
    ::lakepack::Status _st = (expr);                          \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

#define EXPECT_OK(expr)                                       \
  do {                                                        \
    ::lakepack::Status _st = (expr);                          \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

// The empty if-branch keeps a following `else` from binding to the macro's `if`.
#define SKIP_IF_DEVIATES(deviation)                                                     \
  if (!Deviates(deviation)) {                                                           \
  } else                                                                                \
    GTEST_SKIP() << GetParam().name << " is declared to deviate from S3: " << deviation \
                 << " (LAKEPACK_TEST_STORE_<NAME>_DEVIATIONS)"

#define ASSERT_OK_AND_ASSIGN(lhs, expr)                                   \
  auto LP_CONCAT(_res_, __LINE__) = (expr);                               \
  ASSERT_TRUE(LP_CONCAT(_res_, __LINE__).ok())                            \
      << #expr << ": " << LP_CONCAT(_res_, __LINE__).status().ToString(); \
  lhs = std::move(LP_CONCAT(_res_, __LINE__)).value()

// Every byte value, NULs in the middle and at the end: what binary formats look like.
std::string BinaryData(size_t size) {
  std::string data;
  data.reserve(size);
  for (size_t i = 0; i < size; ++i) data += static_cast<char>((i * 7 + i / 256) & 0xff);
  if (size > 2) {
    data[1] = '\0';
    data[size - 1] = '\0';
  }
  return data;
}

std::string ReadLocalFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteLocalFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

bool LocalFileExists(const std::string& path) { return std::ifstream(path).good(); }

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const ObjectInfo& info : objects) keys.push_back(info.key);
  return keys;
}

class StoreConformanceTest : public ::testing::TestWithParam<StoreBackend> {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto opened = TestStore::Open(GetParam(), info->name());
    ASSERT_TRUE(opened.ok()) << GetParam() << ": " << opened.status().ToString();
    handle_ = std::move(*opened);
    store_ = handle_->store().get();
  }

  void TearDown() override {
    store_ = nullptr;
    handle_.reset();
  }

  void Put(const std::string& key, std::string_view data) {
    auto written = store_->Write(key, data);
    ASSERT_TRUE(written.ok()) << key << ": " << written.status().ToString();
  }

  // Whether the backend is declared to depart from S3 in this way (see store_backends.h).
  bool Deviates(std::string_view deviation) const {
    const auto& declared = GetParam().deviations;
    return std::find(declared.begin(), declared.end(), deviation) != declared.end();
  }

  std::string Scratch(const std::string& name) const { return handle_->scratch_dir() + "/" + name; }

  std::unique_ptr<TestStore> handle_;
  ObjectStore* store_ = nullptr;
};

TEST_P(StoreConformanceTest, WriteStatReadRoundTripsBinaryData) {
  const std::string data = BinaryData(70001);
  ASSERT_OK_AND_ASSIGN(ObjectInfo written, store_->Write("bin/all-bytes.bin", data));
  EXPECT_EQ(written.key, "bin/all-bytes.bin");
  EXPECT_EQ(written.size, static_cast<int64_t>(data.size()));
  EXPECT_FALSE(written.etag.empty());

  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("bin/all-bytes.bin"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->key, "bin/all-bytes.bin");
  EXPECT_EQ(stat->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(stat->etag, written.etag);
  EXPECT_GT(stat->mtime_ns, 0);

  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("bin/all-bytes.bin"));
  EXPECT_TRUE(back == data) << "read " << back.size() << " bytes, wrote " << data.size();
}

TEST_P(StoreConformanceTest, ZeroByteObject) {
  ASSERT_OK_AND_ASSIGN(ObjectInfo written, store_->Write("empty/zero", ""));
  EXPECT_EQ(written.size, 0);
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("empty/zero"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->size, 0);
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("empty/zero"));
  EXPECT_EQ(back, "");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store_->ListAll("empty/"));
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].size, 0);
}

TEST_P(StoreConformanceTest, RangeOfZeroByteObjectIsInvalid) {
  SKIP_IF_DEVIATES("broken_range_on_empty");
  Put("empty/zero", "");
  // There is no byte at offset 0 of an empty object; S3 answers 416.
  EXPECT_EQ(store_->Read("empty/zero", {0, 1}).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, OverwriteReplacesContent) {
  Put("over/k", "first version, longer");
  ASSERT_OK_AND_ASSIGN(ObjectInfo second, store_->Write("over/k", "second"));
  EXPECT_EQ(second.size, 6);
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("over/k"));
  EXPECT_EQ(back, "second");
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("over/k"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->size, 6);
}

TEST_P(StoreConformanceTest, CreateOnlyWriteRefusesExistingKey) {
  if (!store_->Capabilities().create_only_reliable) {
    GTEST_SKIP() << store_->Uri() << " does not enforce create-only writes";
  }
  PutOptions create_only;
  create_only.if_none_match = true;
  ASSERT_OK_AND_ASSIGN(ObjectInfo fresh, store_->Write("once/k", "old", create_only));
  EXPECT_EQ(fresh.size, 3);

  auto again = store_->Write("once/k", "new", create_only);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists) << again.status().ToString();
  EXPECT_NE(again.status().message().find("once/k"), std::string::npos)
      << again.status().ToString();

  const std::string file = Scratch("new.bin");
  WriteLocalFile(file, "new from file");
  auto from_file = store_->WriteFromFile("once/k", file, create_only);
  ASSERT_FALSE(from_file.ok());
  EXPECT_EQ(from_file.status().code(), StatusCode::kAlreadyExists);

  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("once/k"));
  EXPECT_EQ(back, "old");
}

TEST_P(StoreConformanceTest, CreateOnlyRaceHasExactlyOneWinner) {
  if (!store_->Capabilities().create_only_reliable) {
    GTEST_SKIP() << store_->Uri() << " does not enforce create-only writes";
  }
  constexpr int kThreads = 8;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      PutOptions create_only;
      create_only.if_none_match = true;
      results[i] = store_->Write("race/lock", "writer " + std::to_string(i), create_only).status();
    });
  }
  for (std::thread& t : threads) t.join();
  int winner = -1;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i].ok()) {
      EXPECT_EQ(winner, -1) << "two create-only writes succeeded: " << winner << " and " << i;
      winner = i;
    } else {
      EXPECT_EQ(results[i].code(), StatusCode::kAlreadyExists) << results[i].ToString();
    }
  }
  ASSERT_NE(winner, -1);
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("race/lock"));
  EXPECT_EQ(back, "writer " + std::to_string(winner));
}

TEST_P(StoreConformanceTest, StatOfMissingKeyIsNullopt) {
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> missing, store_->Stat("no/such/key"));
  EXPECT_FALSE(missing.has_value());
  // A "directory" holding keys is not an object.
  Put("dir/inside", "x");
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> dir, store_->Stat("dir"));
  EXPECT_FALSE(dir.has_value());
}

TEST_P(StoreConformanceTest, ReadOfMissingKeyIsNotFound) {
  EXPECT_EQ(store_->Read("no/such/key").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Read("no/such/key", {5, 10}).status().code(), StatusCode::kNotFound);
  const std::string file = Scratch("never");
  Status st = store_->ReadToFile("no/such/key", file);
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st.ToString();
  EXPECT_FALSE(LocalFileExists(file));
}

TEST_P(StoreConformanceTest, RangedReads) {
  std::string data;
  for (int i = 0; i < 100; ++i) data += static_cast<char>('A' + i % 26);
  Put("range/obj", data);
  auto read = [&](int64_t offset, int64_t length) {
    return store_->Read("range/obj", {offset, length});
  };

  ASSERT_OK_AND_ASSIGN(std::string middle, read(10, 5));
  EXPECT_EQ(middle, data.substr(10, 5));
  ASSERT_OK_AND_ASSIGN(std::string to_end, read(90, -1));
  EXPECT_EQ(to_end, data.substr(90));
  ASSERT_OK_AND_ASSIGN(std::string cut, read(95, 50));
  EXPECT_EQ(cut, data.substr(95));
  ASSERT_OK_AND_ASSIGN(std::string last, read(99, 1));
  EXPECT_EQ(last, data.substr(99));
  ASSERT_OK_AND_ASSIGN(std::string all, read(0, 100));
  EXPECT_EQ(all, data);

  auto past = read(150, 10);
  EXPECT_EQ(past.status().code(), StatusCode::kInvalidArgument) << past.status().ToString();
  // The first byte asked for does not exist: S3 answers 416, so does every store.
  auto at_end = read(100, 1);
  EXPECT_EQ(at_end.status().code(), StatusCode::kInvalidArgument) << at_end.status().ToString();
}

TEST_P(StoreConformanceTest, ReadToFileWholeAndRange) {
  const std::string data = BinaryData(300000);
  Put("rtf/obj", data);
  const std::string whole = Scratch("whole.bin");
  ASSERT_OK(store_->ReadToFile("rtf/obj", whole));
  EXPECT_TRUE(ReadLocalFile(whole) == data);

  // An existing file is truncated, not appended to.
  const std::string part = Scratch("part.bin");
  WriteLocalFile(part, std::string(1000, 'x'));
  ASSERT_OK(store_->ReadToFile("rtf/obj", part, {1000, 4096}));
  EXPECT_TRUE(ReadLocalFile(part) == data.substr(1000, 4096));

  ASSERT_OK(store_->ReadToFile("rtf/obj", part, {299990, 100}));
  EXPECT_TRUE(ReadLocalFile(part) == data.substr(299990));

  const std::string bad = Scratch("bad.bin");
  Status st = store_->ReadToFile("rtf/obj", bad, {400000, 10});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_FALSE(LocalFileExists(bad));
}

TEST_P(StoreConformanceTest, WriteFromFile) {
  const std::string data = BinaryData(3 * 1024 * 1024 + 17);
  const std::string file = Scratch("upload.bin");
  WriteLocalFile(file, data);
  ASSERT_OK_AND_ASSIGN(ObjectInfo written, store_->WriteFromFile("wff/plain.bin", file));
  EXPECT_EQ(written.key, "wff/plain.bin");
  EXPECT_EQ(written.size, static_cast<int64_t>(data.size()));
  EXPECT_TRUE(LocalFileExists(file)) << "a source that was not consumed must stay";
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("wff/plain.bin"));
  EXPECT_TRUE(back == data);
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("wff/plain.bin"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->etag, written.etag);

  // consume_source: the store may move the file; the object is the same either way.
  const std::string spool = Scratch("spool.bin");
  WriteLocalFile(spool, "consumed content");
  PutOptions consume;
  consume.consume_source = true;
  ASSERT_OK_AND_ASSIGN(ObjectInfo moved, store_->WriteFromFile("wff/consumed", spool, consume));
  EXPECT_EQ(moved.size, 16);
  ASSERT_OK_AND_ASSIGN(std::string consumed, store_->Read("wff/consumed"));
  EXPECT_EQ(consumed, "consumed content");

  auto missing = store_->WriteFromFile("wff/none", Scratch("does-not-exist"));
  EXPECT_FALSE(missing.ok());
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> none, store_->Stat("wff/none"));
  EXPECT_FALSE(none.has_value());
}

TEST_P(StoreConformanceTest, Copy) {
  const std::string data = BinaryData(12345);
  Put("copy/src", data);
  ASSERT_OK(store_->Copy("copy/src", "copy/deeper/dst"));
  ASSERT_OK_AND_ASSIGN(std::string dst, store_->Read("copy/deeper/dst"));
  EXPECT_TRUE(dst == data);
  ASSERT_OK_AND_ASSIGN(std::string src, store_->Read("copy/src"));
  EXPECT_TRUE(src == data);

  Put("copy/existing", "to be replaced");
  ASSERT_OK(store_->Copy("copy/src", "copy/existing"));
  ASSERT_OK_AND_ASSIGN(std::string replaced, store_->Read("copy/existing"));
  EXPECT_TRUE(replaced == data);

  Status missing = store_->Copy("copy/missing", "copy/never");
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> never, store_->Stat("copy/never"));
  EXPECT_FALSE(never.has_value());
}

TEST_P(StoreConformanceTest, DeleteBatchIgnoresMissingKeys) {
  Put("del/a", "a");
  Put("del/b", "b");
  Put("del/sub/c", "c");
  ASSERT_OK(store_->Delete({"del/a", "del/missing", "del/sub/c", "other/missing"}));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> left, store_->ListAll(""));
  EXPECT_EQ(Keys(left), std::vector<std::string>{"del/b"});
  ASSERT_OK(store_->Delete({}));
  ASSERT_OK(store_->Delete({"del/a"}));  // twice is fine
  ASSERT_OK(store_->Delete({"del/b"}));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> none, store_->ListAll(""));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreConformanceTest, ListWithPrefix) {
  Put("lp/a/1", "1");
  Put("lp/a/2", "22");
  Put("lp/ab", "333");
  Put("lp/b/1", "4444");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> dir, store_->ListAll("lp/a/"));
  EXPECT_EQ(Keys(dir), (std::vector<std::string>{"lp/a/1", "lp/a/2"}));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> partial, store_->ListAll("lp/a"));
  EXPECT_EQ(Keys(partial), (std::vector<std::string>{"lp/a/1", "lp/a/2", "lp/ab"}));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, store_->ListAll(""));
  EXPECT_EQ(Keys(all), (std::vector<std::string>{"lp/a/1", "lp/a/2", "lp/ab", "lp/b/1"}));
  EXPECT_EQ(all[1].size, 2);
  EXPECT_EQ(all[3].size, 4);
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> exact, store_->ListAll("lp/ab"));
  EXPECT_EQ(Keys(exact), std::vector<std::string>{"lp/ab"});

  ListOptions nothing;
  nothing.prefix = "lp/zzz/";
  ASSERT_OK_AND_ASSIGN(ListPage empty, store_->List(nothing));
  EXPECT_TRUE(empty.objects.empty());
  EXPECT_TRUE(empty.common_prefixes.empty());
  EXPECT_TRUE(empty.next_token.empty());
}

TEST_P(StoreConformanceTest, ListReportsWhatStatReports) {
  Put("meta/x", "hello");
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store_->ListAll("meta/"));
  ASSERT_EQ(listed.size(), 1u);
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("meta/x"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(listed[0].size, stat->size);
  EXPECT_EQ(listed[0].etag, stat->etag);
}

TEST_P(StoreConformanceTest, ListWithDelimiterRollsUpCommonPrefixes) {
  for (const char* key : {"ld/top", "ld/x/1", "ld/x/y/2", "ld/x/y/3", "ld/x/z/4", "ld/x2"}) {
    Put(key, "v");
  }
  ListOptions options;
  options.prefix = "ld/";
  options.delimiter = "/";
  ASSERT_OK_AND_ASSIGN(ListPage root, store_->List(options));
  EXPECT_EQ(Keys(root.objects), (std::vector<std::string>{"ld/top", "ld/x2"}));
  EXPECT_EQ(root.common_prefixes, std::vector<std::string>{"ld/x/"});
  EXPECT_TRUE(root.next_token.empty());

  options.prefix = "ld/x/";
  ASSERT_OK_AND_ASSIGN(ListPage x, store_->List(options));
  EXPECT_EQ(Keys(x.objects), std::vector<std::string>{"ld/x/1"});
  EXPECT_EQ(x.common_prefixes, (std::vector<std::string>{"ld/x/y/", "ld/x/z/"}));

  // A prefix that ends mid-name rolls up what follows it.
  options.prefix = "ld/x";
  ASSERT_OK_AND_ASSIGN(ListPage mid, store_->List(options));
  EXPECT_EQ(Keys(mid.objects), std::vector<std::string>{"ld/x2"});
  EXPECT_EQ(mid.common_prefixes, std::vector<std::string>{"ld/x/"});

  options.prefix = "";
  ASSERT_OK_AND_ASSIGN(ListPage top, store_->List(options));
  EXPECT_TRUE(top.objects.empty());
  EXPECT_EQ(top.common_prefixes, std::vector<std::string>{"ld/"});
}

TEST_P(StoreConformanceTest, PaginationReturnsEveryKeyOnceInOrder) {
  std::vector<std::string> expected;
  for (int i = 0; i < 50; ++i) {
    // Mixed depths, so that page boundaries fall inside and between "directories".
    std::string key = i % 3 == 0 ? "pg/d" + std::to_string(i % 4) + "/k" + std::to_string(i)
                                 : "pg/k" + std::to_string(i);
    expected.push_back(key);
    Put(key, std::to_string(i));
  }
  std::sort(expected.begin(), expected.end());

  ListOptions options;
  options.prefix = "pg/";
  options.max_keys = 7;
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(ListPage page, store_->List(options));
    ++pages;
    ASSERT_LE(pages, 50) << "pagination does not end";
    EXPECT_LE(page.objects.size(), 7u);
    for (const ObjectInfo& info : page.objects) seen.push_back(info.key);
    if (page.next_token.empty()) break;
    EXPECT_EQ(page.objects.size(), 7u) << "only the last page may be short";
    options.continuation_token = page.next_token;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(pages, 8);
}

TEST_P(StoreConformanceTest, PaginationWithDelimiterCountsCommonPrefixes) {
  SKIP_IF_DEVIATES("max_keys_ignores_prefixes");
  for (int i = 0; i < 4; ++i) {
    Put("pd/d" + std::to_string(i) + "/x", "v");
    Put("pd/d" + std::to_string(i) + "/y/z", "v");
    Put("pd/f" + std::to_string(i), "v");
  }
  ListOptions by_dir;
  by_dir.prefix = "pd/";
  by_dir.delimiter = "/";
  ASSERT_OK_AND_ASSIGN(ListPage full, store_->List(by_dir));
  EXPECT_EQ(full.common_prefixes,
            (std::vector<std::string>{"pd/d0/", "pd/d1/", "pd/d2/", "pd/d3/"}));
  EXPECT_EQ(Keys(full.objects), (std::vector<std::string>{"pd/f0", "pd/f1", "pd/f2", "pd/f3"}));

  // Common prefixes count towards the page size, and none is repeated on a later page.
  by_dir.max_keys = 3;
  std::vector<std::string> objects, prefixes;
  int pages = 0;
  while (true) {
    ASSERT_OK_AND_ASSIGN(ListPage page, store_->List(by_dir));
    ++pages;
    ASSERT_LE(pages, 20) << "pagination does not end";
    EXPECT_LE(page.objects.size() + page.common_prefixes.size(), 3u);
    for (const ObjectInfo& info : page.objects) objects.push_back(info.key);
    prefixes.insert(prefixes.end(), page.common_prefixes.begin(), page.common_prefixes.end());
    if (page.next_token.empty()) break;
    by_dir.continuation_token = page.next_token;
  }
  EXPECT_EQ(objects, Keys(full.objects));
  EXPECT_EQ(prefixes, full.common_prefixes);
  EXPECT_EQ(pages, 3);
}

TEST_P(StoreConformanceTest, ListOrderIsByteOrder) {
  SKIP_IF_DEVIATES("unordered_listing");
  // '-' (0x2d) < '.' < '/' (0x2f) < '0' < 'A' < 'a' < UTF-8 lead bytes: a walk that visits
  // a directory before its sibling files gets this wrong.
  std::vector<std::string> keys = {"ord/a0", "ord/a/b",      "ord/a.txt", "ord/a-c",
                                   "ord/A",  "ord/\xc3\xa9", "ord/a/a/z", "ord/a/a-"};
  for (const std::string& key : keys) Put(key, "v");
  std::sort(keys.begin(), keys.end());
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store_->ListAll("ord/"));
  EXPECT_EQ(Keys(listed), keys);
}

TEST_P(StoreConformanceTest, UnicodeKeysAndKeysWithSpaces) {
  const std::vector<std::string> keys = {
      "uni/h\xc3\xa9llo w\xc3\xb6rld.txt",        // héllo wörld.txt
      "uni/\xe6\x97\xa5\xe6\x9c\xac/file 1.csv",  // 日本/file 1.csv
      "uni/emoji-\xf0\x9f\x98\x80",               // 😀
      "uni/with space/and+plus",
      "uni/percent%20literal",
      "uni/year=2024/month=01/a&b~c!'()*.parquet",
      "uni/back\\slash",
  };
  for (size_t i = 0; i < keys.size(); ++i) Put(keys[i], "content " + std::to_string(i));
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> listed, store_->ListAll("uni/"));
  EXPECT_EQ(Keys(listed), sorted);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat(keys[i]));
    EXPECT_TRUE(stat.has_value()) << keys[i];
    ASSERT_OK_AND_ASSIGN(std::string back, store_->Read(keys[i]));
    EXPECT_EQ(back, "content " + std::to_string(i)) << keys[i];
  }
  ASSERT_OK(store_->Copy(keys[0], "uni/copy of h\xc3\xa9llo"));
  ASSERT_OK(store_->Delete(keys));
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> left, store_->ListAll("uni/"));
  EXPECT_EQ(Keys(left), std::vector<std::string>{"uni/copy of h\xc3\xa9llo"});
}

TEST_P(StoreConformanceTest, InvalidKeysAreRejected) {
  Put("good", "g");
  const std::string file = Scratch("src");
  WriteLocalFile(file, "data");
  const std::vector<std::string> bad = {
      "",      "/abs",      "..",   ".",         "a/../b",
      "a/./b", "../escape", "a//b", "trailing/", std::string("nul\0byte", 8)};
  for (const std::string& key : bad) {
    SCOPED_TRACE("key '" + key + "'");
    auto code = [](const Status& st) { return st.code(); };
    EXPECT_EQ(code(store_->Write(key, "x").status()), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->WriteFromFile(key, file).status()), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->Read(key).status()), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->ReadToFile(key, Scratch("out"))), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->Stat(key).status()), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->Copy("good", key)), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->Copy(key, "good2")), StatusCode::kInvalidArgument);
    EXPECT_EQ(code(store_->Delete({"good", key})), StatusCode::kInvalidArgument);
  }
  // A batch with one bad key deletes nothing, and nothing bad was written.
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, store_->ListAll(""));
  EXPECT_EQ(Keys(all), std::vector<std::string>{"good"});
}

TEST_P(StoreConformanceTest, EtagChangesWhenContentChanges) {
  ASSERT_OK_AND_ASSIGN(ObjectInfo v1, store_->Write("etag/k", "aaaa"));
  ASSERT_OK_AND_ASSIGN(ObjectInfo v2, store_->Write("etag/k", "bbbb"));  // same size
  ASSERT_OK_AND_ASSIGN(ObjectInfo v3, store_->Write("etag/k", "cccccc"));
  EXPECT_NE(v1.etag, v2.etag);
  EXPECT_NE(v2.etag, v3.etag);
  EXPECT_NE(v1.etag, v3.etag);
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("etag/k"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->etag, v3.etag);
  ASSERT_OK(store_->Copy("etag/k", "etag/copy"));
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> unchanged, store_->Stat("etag/k"));
  ASSERT_TRUE(unchanged.has_value());
  EXPECT_EQ(unchanged->etag, v3.etag) << "copying from a key must not change it";
}

TEST_P(StoreConformanceTest, ConcurrentWritesToDistinctKeys) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10;
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Threads share directories, so directory creation races are part of the test.
        std::string key =
            "conc/d" + std::to_string(i % 3) + "/t" + std::to_string(t) + "-" + std::to_string(i);
        std::string data = BinaryData(1000 + t * 100 + i) + key;
        auto written = store_->Write(key, data);
        if (!written.ok()) {
          failures[t] = key + ": " + written.status().ToString();
          return;
        }
        auto back = store_->Read(key);
        if (!back.ok() || *back != data) {
          failures[t] = key + ": read back differs";
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& failure : failures) EXPECT_TRUE(failure.empty()) << failure;
  ASSERT_OK_AND_ASSIGN(std::vector<ObjectInfo> all, store_->ListAll("conc/"));
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> unique;
  for (const ObjectInfo& info : all) unique.insert(info.key);
  EXPECT_EQ(unique.size(), all.size());
}

TEST_P(StoreConformanceTest, UriOfNamesTheObject) {
  const std::string uri = store_->UriOf("a/b.csv");
  EXPECT_EQ(uri.substr(uri.size() - 8), "/a/b.csv") << uri;
  EXPECT_EQ(uri.rfind(store_->Uri(), 0), 0u) << uri << " does not start with " << store_->Uri();
}

// What each backend must promise (the probe's findings on the servers of tests/servers):
// a change in an endpoint's behaviour, or a probe gone wrong, fails here by name.
struct ExpectedCapabilities {
  const char* backend;
  bool create_only;
  bool create_only_multipart;
  bool if_match;
  bool tags;
  bool delimiter_listing;
};
constexpr ExpectedCapabilities kExpectedCapabilities[] = {
    {"local", true, true, true, true, true},
    {"local_prefixed", true, true, true, true, true},
    {"moto", true, true, true, true, true},
    // s3rver ignores If-None-Match and If-Match on PUT, and leaves out of '/' listings the
    // prefixes that hold only prefixes.
    {"s3rver", false, false, false, true, false},
    // RGW: If-Match only unquoted (the probe finds that form); If-None-Match ignored on
    // CompleteMultipartUpload.
    {"rgw", true, false, true, true, true},
};

TEST_P(StoreConformanceTest, CapabilitiesAreTheBackendsOwn) {
  const ExpectedCapabilities* expected = nullptr;
  for (const auto& e : kExpectedCapabilities) {
    if (GetParam().name == e.backend) expected = &e;
  }
  if (expected == nullptr) GTEST_SKIP() << "no expectations for backend " << GetParam().name;
  StoreCapabilities caps = store_->Capabilities();
  EXPECT_TRUE(caps.atomic_write);
  EXPECT_EQ(caps.create_only_reliable, expected->create_only);
  EXPECT_EQ(caps.create_only_multipart_reliable, expected->create_only_multipart);
  EXPECT_EQ(caps.if_match_reliable, expected->if_match);
  EXPECT_EQ(caps.tags, expected->tags);
  EXPECT_EQ(caps.delimiter_listing_reliable, expected->delimiter_listing);
  // Asked again: the same answer, from the cache.
  StoreCapabilities again = store_->Capabilities();
  EXPECT_EQ(again.if_match_reliable, caps.if_match_reliable);
  EXPECT_EQ(again.tags, caps.tags);
}

TEST_P(StoreConformanceTest, TagRoundTrips) {
  if (!store_->Capabilities().tags) GTEST_SKIP() << store_->Uri() << " keeps no tags";
  PutOptions tagged;
  tagged.tag = "task-0042.3";
  ASSERT_OK_AND_ASSIGN(ObjectInfo written, store_->Write("tags/a", "data", tagged));
  EXPECT_EQ(written.tag, "task-0042.3");
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("tags/a"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tag, "task-0042.3");
  EXPECT_EQ(stat->etag, written.etag);

  const std::string file = Scratch("tagged.bin");
  WriteLocalFile(file, "from a file");
  tagged.tag = "task-0042.4";
  ASSERT_OK(store_->WriteFromFile("tags/b", file, tagged).status());
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("tags/b"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tag, "task-0042.4");

  // Consumed source (local stores move it into place): the tag still goes with it.
  WriteLocalFile(file, "moved");
  PutOptions consumed = tagged;
  consumed.consume_source = true;
  consumed.tag = "task-0042.5";
  ASSERT_OK(store_->WriteFromFile("tags/c", file, consumed).status());
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("tags/c"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tag, "task-0042.5");

  // A copy keeps the tag, as S3's CopyObject keeps the metadata.
  ASSERT_OK(store_->Copy("tags/c", "tags/d"));
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("tags/d"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tag, "task-0042.5");

  // An overwrite without a tag leaves none.
  ASSERT_OK(store_->Write("tags/a", "untagged").status());
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("tags/a"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tag, "");
}

TEST_P(StoreConformanceTest, MetadataRoundTrips) {
  if (!store_->Capabilities().tags) GTEST_SKIP() << store_->Uri() << " keeps no metadata";
  PutOptions put;
  put.tag = "task-7.1";
  put.metadata = {{"lakepack-source-name", "dir/a%20b.csv"},
                  {"lakepack-source-md5", "0123456789abcdef0123456789abcdef"}};
  const std::string file = Scratch("meta.bin");
  WriteLocalFile(file, "with metadata");
  put.consume_source = true;
  ASSERT_OK(store_->WriteFromFile("meta/a", file, put).status());
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("meta/a"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->tag, "task-7.1");
  EXPECT_EQ(stat->Metadata("lakepack-source-name"), "dir/a%20b.csv");
  EXPECT_EQ(stat->Metadata("lakepack-source-md5"), "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(stat->Metadata("lakepack-tag"), "") << "the tag is not metadata";
  // A copy keeps it, as S3's CopyObject keeps the metadata.
  ASSERT_OK(store_->Copy("meta/a", "meta/b"));
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("meta/b"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->Metadata("lakepack-source-md5"), "0123456789abcdef0123456789abcdef");
  // An overwrite without metadata leaves none.
  ASSERT_OK(store_->Write("meta/a", "plain").status());
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("meta/a"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->Metadata("lakepack-source-md5"), "");
  // Values travel as header values: anything but printable ASCII is refused before a request.
  PutOptions bad;
  bad.metadata = {{"lakepack-source-name", "caf\xc3\xa9 au lait"}};
  auto refused = store_->Write("meta/c", "x", bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, IfMatchReplacesTheVersionItNames) {
  ASSERT_OK_AND_ASSIGN(ObjectInfo v1, store_->Write("cas/k", "v1"));
  PutOptions cas;
  cas.if_match = v1.etag;
  cas.tag = "gen-2";
  ASSERT_OK_AND_ASSIGN(ObjectInfo v2, store_->Write("cas/k", "v2", cas));
  EXPECT_NE(v2.etag, v1.etag);
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("cas/k"));
  EXPECT_EQ(back, "v2");
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("cas/k"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->etag, v2.etag);
  if (store_->Capabilities().tags) {
    EXPECT_EQ(stat->tag, "gen-2");
  }

  // From a file, against the new version.
  const std::string file = Scratch("v3.bin");
  WriteLocalFile(file, "v3");
  cas.if_match = v2.etag;
  ASSERT_OK(store_->WriteFromFile("cas/k", file, cas).status());
  ASSERT_OK_AND_ASSIGN(back, store_->Read("cas/k"));
  EXPECT_EQ(back, "v3");
}

TEST_P(StoreConformanceTest, IfMatchRefusesAStaleEtag) {
  ASSERT_OK_AND_ASSIGN(ObjectInfo v1, store_->Write("cas/stale", "v1"));
  ASSERT_OK_AND_ASSIGN(ObjectInfo v2, store_->Write("cas/stale", "v2 by someone else"));
  PutOptions cas;
  cas.if_match = v1.etag;
  auto refused = store_->Write("cas/stale", "v3", cas);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find(store_->UriOf("cas/stale") +
                                            ": changed since it was planned (ETag " + v1.etag +
                                            ", now " + v2.etag + ")"),
            std::string::npos)
      << refused.status().ToString();
  // From a file, and consumed: refused too, the source kept.
  const std::string file = Scratch("v3.bin");
  WriteLocalFile(file, "v3 from file");
  cas.consume_source = true;
  auto from_file = store_->WriteFromFile("cas/stale", file, cas);
  EXPECT_EQ(from_file.status().code(), StatusCode::kFailedPrecondition)
      << from_file.status().ToString();
  EXPECT_TRUE(LocalFileExists(file)) << "a refused write must leave its source";
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("cas/stale"));
  EXPECT_EQ(back, "v2 by someone else");
}

TEST_P(StoreConformanceTest, IfMatchOnAnAbsentKeyFails) {
  ASSERT_OK_AND_ASSIGN(ObjectInfo v1, store_->Write("cas/gone", "v1"));
  ASSERT_OK(store_->Delete({"cas/gone"}));
  PutOptions cas;
  cas.if_match = v1.etag;
  auto refused = store_->Write("cas/gone", "v2", cas);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("now absent"), std::string::npos)
      << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("cas/gone"), std::string::npos);
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("cas/gone"));
  EXPECT_FALSE(stat.has_value()) << "a refused compare-and-swap must not create the key";
}

TEST_P(StoreConformanceTest, IfMatchWithIfNoneMatchIsInvalid) {
  PutOptions both;
  both.if_match = "abc";
  both.if_none_match = true;
  auto refused = store_->Write("cas/both", "x", both);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << refused.status().ToString();
}

TEST_P(StoreConformanceTest, IfMatchRaceHasExactlyOneWinner) {
  if (!store_->Capabilities().if_match_reliable) {
    GTEST_SKIP() << store_->Uri() << " does not enforce If-Match (checked by HEAD: a window)";
  }
  ASSERT_OK_AND_ASSIGN(ObjectInfo base, store_->Write("cas/race", "base"));
  constexpr int kThreads = 8;
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      PutOptions cas;
      cas.if_match = base.etag;
      results[i] = store_->Write("cas/race", "writer " + std::to_string(i), cas).status();
    });
  }
  for (std::thread& t : threads) t.join();
  int winner = -1;
  for (int i = 0; i < kThreads; ++i) {
    if (results[i].ok()) {
      EXPECT_EQ(winner, -1) << "two compare-and-swaps succeeded: " << winner << " and " << i;
      winner = i;
    } else {
      EXPECT_EQ(results[i].code(), StatusCode::kFailedPrecondition) << results[i].ToString();
    }
  }
  ASSERT_NE(winner, -1);
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("cas/race"));
  EXPECT_EQ(back, "writer " + std::to_string(winner));
}

TEST_P(StoreConformanceTest, PinnedReadsReadThePinnedVersionOnly) {
  const std::string data = BinaryData(5000);
  ASSERT_OK_AND_ASSIGN(ObjectInfo v1, store_->Write("pin/k", data));
  ASSERT_OK_AND_ASSIGN(std::string whole, store_->ReadPinned("pin/k", v1.etag));
  EXPECT_EQ(whole, data);
  ASSERT_OK_AND_ASSIGN(std::string part, store_->ReadPinned("pin/k", v1.etag, {100, 50}));
  EXPECT_EQ(part, data.substr(100, 50));
  const std::string file = Scratch("pinned.bin");
  ASSERT_OK(store_->ReadToFilePinned("pin/k", v1.etag, file));
  EXPECT_EQ(ReadLocalFile(file), data);

  ASSERT_OK_AND_ASSIGN(ObjectInfo v2, store_->Write("pin/k", "changed"));
  auto changed = store_->ReadPinned("pin/k", v1.etag);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), StatusCode::kFailedPrecondition)
      << changed.status().ToString();
  EXPECT_NE(changed.status().message().find(store_->UriOf("pin/k") +
                                            ": changed since it was planned (ETag " + v1.etag +
                                            ", now " + v2.etag + ")"),
            std::string::npos)
      << changed.status().ToString();
  const std::string file2 = Scratch("pinned2.bin");
  Status to_file = store_->ReadToFilePinned("pin/k", v1.etag, file2);
  EXPECT_EQ(to_file.code(), StatusCode::kFailedPrecondition) << to_file.ToString();
  EXPECT_FALSE(LocalFileExists(file2)) << "a failed pinned read leaves no file";

  ASSERT_OK(store_->Delete({"pin/k"}));
  auto gone = store_->ReadPinned("pin/k", v2.etag);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().ToString();
  Status gone_to_file = store_->ReadToFilePinned("pin/k", v2.etag, file2);
  EXPECT_EQ(gone_to_file.code(), StatusCode::kNotFound) << gone_to_file.ToString();
  EXPECT_FALSE(LocalFileExists(file2));
}

TEST_P(StoreConformanceTest, DeletePinnedKeepsWhatChanged) {
  ASSERT_OK_AND_ASSIGN(ObjectInfo a, store_->Write("dp/a", "a"));
  ASSERT_OK_AND_ASSIGN(ObjectInfo b, store_->Write("dp/b", "b"));
  ASSERT_OK(store_->Write("dp/b", "b changed").status());
  ASSERT_OK_AND_ASSIGN(
      std::vector<std::string> changed,
      store_->DeletePinned({{"dp/a", a.etag}, {"dp/b", b.etag}, {"dp/missing", "abc"}}));
  EXPECT_EQ(changed, std::vector<std::string>{"dp/b"});
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat_a, store_->Stat("dp/a"));
  EXPECT_FALSE(stat_a.has_value()) << "unchanged: deleted";
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("dp/b"));
  EXPECT_EQ(back, "b changed");
  ASSERT_OK_AND_ASSIGN(changed, store_->DeletePinned({}));
  EXPECT_TRUE(changed.empty());
  auto bad = store_->DeletePinned({{"../x", "e"}});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// Many keys of one directory (S3 looks them up with one ranged listing, not a HEAD each):
// the keys between them that are not asked for stay, as do those before the first and after
// the last; a changed one stays and is named; a missing one is no error.
TEST_P(StoreConformanceTest, DeletePinnedOfManyKeysInOneDirectoryTouchesOnlyThem) {
  std::vector<std::pair<std::string, std::string>> doomed;
  std::vector<std::string> kept = {"dm/d/a", "dm/d/m05x", "dm/d/z", "dm/d2/m00", "dm/d/sub/m03"};
  for (const auto& k : kept) ASSERT_OK(store_->Write(k, "keep").status());
  for (int i = 0; i < 10; i++) {
    std::string key = std::string("dm/d/m0") + std::to_string(i);
    ASSERT_OK_AND_ASSIGN(ObjectInfo w, store_->Write(key, "v" + std::to_string(i)));
    doomed.emplace_back(key, w.etag);
  }
  ASSERT_OK(store_->Write("dm/d/m07", "changed").status());
  ASSERT_OK(store_->Delete({"dm/d/m03"}));
  doomed.emplace_back("dm/d/m99", "absent");
  ASSERT_OK_AND_ASSIGN(std::vector<std::string> changed, store_->DeletePinned(doomed));
  EXPECT_EQ(changed, std::vector<std::string>{"dm/d/m07"});
  std::vector<std::string> left;
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListAll("dm/"));
  for (const auto& o : all) left.push_back(o.key);
  std::vector<std::string> want = kept;
  want.push_back("dm/d/m07");
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
}

TEST_P(StoreConformanceTest, PendingUploadsAreListedAndAborted) {
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> started, handle_->StartUpload("up/k"));
  if (!started) {
    // No multipart uploads (local stores): never any pending.
    ASSERT_OK_AND_ASSIGN(std::vector<PendingUpload> none, store_->ListPendingUploads(""));
    EXPECT_TRUE(none.empty());
    return;
  }
  SKIP_IF_DEVIATES("no_list_uploads");
  ASSERT_OK_AND_ASSIGN(std::optional<std::string> other, handle_->StartUpload("elsewhere/k"));
  ASSERT_OK_AND_ASSIGN(std::vector<PendingUpload> pending, store_->ListPendingUploads("up/"));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].key, "up/k");
  EXPECT_EQ(pending[0].upload_id, *started);
  EXPECT_GT(pending[0].initiated_ns, 0);
  ASSERT_OK(store_->AbortPendingUpload(pending[0]));
  ASSERT_OK_AND_ASSIGN(pending, store_->ListPendingUploads("up/"));
  EXPECT_TRUE(pending.empty());
  ASSERT_OK_AND_ASSIGN(pending, store_->ListPendingUploads(""));
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].key, "elsewhere/k");
  ASSERT_OK(store_->AbortPendingUpload(pending[0]));
  // Aborting one that is gone is not an error.
  EXPECT_OK(store_->AbortPendingUpload(pending[0]));
}

// Appends `data` to the file at `path` in steps of `step` bytes, each flushed to the file.
void AppendInSteps(const std::string& path, std::string_view data, size_t step) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  for (size_t at = 0; at < data.size(); at += step) {
    out.write(data.data() + at, static_cast<std::streamsize>(std::min(step, data.size() - at)));
    out.flush();
  }
}

// Waits until the store has sent `parts` more multipart parts than `before` (the follower sends
// them on its own thread): bounded polling, not a fixed sleep, so the verdict does not depend on
// the machine's speed, only that the parts go up before Complete.
bool WaitForParts(const ObjectStore& store, int64_t before, int64_t parts) {
  for (int i = 0; i < 12000; i++) {
    auto counters = store.Counters();
    if (counters["MULTIPART_PART"] >= before + parts) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

PutOptions CreateOnlyTagged(std::string tag) {
  PutOptions put;
  put.if_none_match = true;
  put.tag = std::move(tag);
  return put;
}

// A create-only write that follows its local file while another writer appends to it: its
// whole parts go up before Complete, nothing is visible until then, and the object is then the
// file's bytes with the write's tag. Where the store does not follow (local stores, endpoints
// that do not refuse a create-only multipart completion) BeginFollowingUpload says so (null).
TEST_P(StoreConformanceTest, AFollowingUploadSendsTheFileWhileItGrows) {
  const PutOptions put = CreateOnlyTagged("task-f.1");
  const std::string path = Scratch("growing");
  ASSERT_OK_AND_ASSIGN(auto upload,
                       store_->BeginFollowingUpload("fo/k", path, int64_t{1} << 40, put));
  if (!upload) {
    const auto caps = store_->Capabilities();
    EXPECT_TRUE(!handle_->remote() || !caps.create_only_multipart_reliable || !caps.tags)
        << "a store that enforces create-only multipart completion should follow";
    GTEST_SKIP() << GetParam().name << " does not follow uploads (written whole instead)";
  }
  // Below the threshold a plain write is cheaper: no following.
  ASSERT_OK_AND_ASSIGN(auto small, store_->BeginFollowingUpload("fo/small", path, 1000, put));
  EXPECT_EQ(small, nullptr);

  const int64_t before = store_->Counters()["MULTIPART_PART"];
  ASSERT_OK(upload->Start());
  // The file appears only now, as a writer that creates it after the follow began.
  const std::string data = BinaryData(size_t{40} << 20);  // parts of 16 MiB: 16 + 16 + 8
  AppendInSteps(path, data, size_t{1} << 20);
  ASSERT_TRUE(WaitForParts(*store_, before, 2)) << "no whole part went up while the file grew";
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> early, store_->Stat("fo/k"));
  EXPECT_FALSE(early.has_value()) << "visible before Complete";
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> done, upload->Complete());
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(done->key, "fo/k");
  EXPECT_EQ(done->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(store_->Counters()["MULTIPART_PART"], before + 3);
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("fo/k"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->etag, done->etag);
  EXPECT_EQ(stat->tag, "task-f.1");
  ASSERT_OK_AND_ASSIGN(std::string back, store_->Read("fo/k"));
  EXPECT_TRUE(back == data) << "the object is not the file's bytes";

  // Create-only: a second one of the same key is refused at completion, and leaves the first.
  const std::string path2 = Scratch("again");
  ASSERT_OK_AND_ASSIGN(auto again,
                       store_->BeginFollowingUpload("fo/k", path2, int64_t{1} << 40, put));
  ASSERT_NE(again, nullptr);
  ASSERT_OK(again->Start());
  AppendInSteps(path2, "another", 7);
  auto refused = again->Complete();
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.status().IsAlreadyExists()) << refused.status().ToString();
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("fo/k"));
  ASSERT_TRUE(stat.has_value());
  EXPECT_EQ(stat->etag, done->etag);
  ASSERT_OK_AND_ASSIGN(std::vector<PendingUpload> pending, store_->ListPendingUploads("fo/"));
  EXPECT_TRUE(pending.empty());
}

// A followed file whose sent bytes change afterwards (a writer that goes back) is not written
// by the follower: Complete answers "not followed" (std::nullopt) and leaves no object and no
// open upload; the caller writes the file whole. Whether the patch lands after the part went
// up (Complete's CRC check sees it) or while its body is read (the endpoint's MD5 differs from
// the one sent), the answer is the same. Dropping an upload uncompleted leaves nothing.
TEST_P(StoreConformanceTest, AFollowedFileThatChangesBehindTheUploadIsNotWritten) {
  const PutOptions put = CreateOnlyTagged("task-g.1");
  const std::string path = Scratch("patched");
  ASSERT_OK_AND_ASSIGN(auto upload,
                       store_->BeginFollowingUpload("fp/k", path, int64_t{1} << 40, put));
  if (!upload) GTEST_SKIP() << GetParam().name << " does not follow uploads";
  const int64_t before = store_->Counters()["MULTIPART_PART"];
  ASSERT_OK(upload->Start());
  std::string data = BinaryData(size_t{20} << 20);
  AppendInSteps(path, data, size_t{4} << 20);
  ASSERT_TRUE(WaitForParts(*store_, before, 1));
  {
    std::fstream patch(path, std::ios::binary | std::ios::in | std::ios::out);
    patch.seekp(100);
    patch.put('!');
  }
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> done, upload->Complete());
  EXPECT_FALSE(done.has_value());
  ASSERT_OK_AND_ASSIGN(std::optional<ObjectInfo> stat, store_->Stat("fp/k"));
  EXPECT_FALSE(stat.has_value());

  ASSERT_OK_AND_ASSIGN(auto dropped,
                       store_->BeginFollowingUpload("fp/dropped", path, int64_t{1} << 40, put));
  ASSERT_NE(dropped, nullptr);
  ASSERT_OK(dropped->Start());
  dropped.reset();
  ASSERT_OK_AND_ASSIGN(stat, store_->Stat("fp/dropped"));
  EXPECT_FALSE(stat.has_value());
  ASSERT_OK_AND_ASSIGN(std::vector<PendingUpload> pending, store_->ListPendingUploads("fp/"));
  EXPECT_TRUE(pending.empty());
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreConformanceTest, ::testing::ValuesIn(TestBackends()),
                         [](const ::testing::TestParamInfo<StoreBackend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace lakepack::testing
