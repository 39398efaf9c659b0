// Unit tests for what only the local store does: files on disk, temp files, directories,
// symlinks and moves. The shared contract is tested in tests/store/store_conformance_test.cc.
#include "store/local_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/prefix_store.h"

namespace lakepack {
namespace {

namespace fs = std::filesystem;

std::string ReadLocalFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteLocalFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> keys;
  for (const ObjectInfo& info : objects) keys.push_back(info.key);
  return keys;
}

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lakepack-local-store-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
    root_ = dir_ + "/root";
    scratch_ = dir_ + "/scratch";
    fs::create_directories(scratch_);
    auto store = OpenLocalStore(root_, /*create_root=*/true);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = *store;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void Put(const std::string& key, std::string_view data) {
    auto written = store_->Write(key, data);
    ASSERT_TRUE(written.ok()) << key << ": " << written.status().ToString();
  }

  // Every temp file anywhere below `dir`: after any operation, finished or failed, none.
  std::vector<std::string> TempFiles(const std::string& dir) const {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().filename().string().rfind(kLocalTempPrefix, 0) == 0) {
        found.push_back(entry.path().string());
      }
    }
    return found;
  }

  std::string dir_, root_, scratch_;
  std::shared_ptr<ObjectStore> store_;
};

TEST_F(LocalStoreTest, OpenRoot) {
  auto missing = OpenLocalStore(dir_ + "/nope", false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir_ + "/nope"), std::string::npos);

  auto created = OpenLocalStore(dir_ + "/a/b/../c/", true);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)->Uri(), "file://" + dir_ + "/a/c");
  EXPECT_TRUE(fs::is_directory(dir_ + "/a/c"));

  WriteLocalFile(dir_ + "/plain", "x");
  auto file = OpenLocalStore(dir_ + "/plain", true);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LocalStoreTest, UriLocalPathAndCapabilities) {
  EXPECT_EQ(store_->Uri(), "file://" + root_);
  EXPECT_EQ(store_->UriOf("a/b.csv"), "file://" + root_ + "/a/b.csv");
  EXPECT_EQ(store_->LocalPath("a/b.csv"), root_ + "/a/b.csv");
  EXPECT_EQ(store_->LocalPath("../x"), std::nullopt);
  StoreCapabilities caps = store_->Capabilities();
  EXPECT_TRUE(caps.atomic_write);
  EXPECT_TRUE(caps.create_only_reliable);
  EXPECT_TRUE(caps.consistent_listing);
}

TEST_F(LocalStoreTest, CountsOperations) {
  Put("c/a", "12345");
  ASSERT_TRUE(store_->Read("c/a", {1, 2}).ok());
  ASSERT_TRUE(store_->Copy("c/a", "c/b").ok());
  ASSERT_TRUE(store_->Stat("c/a").ok());
  ASSERT_TRUE(store_->ListAll("").ok());
  ASSERT_TRUE(store_->Delete({"c/a", "c/b"}).ok());
  auto counters = MakePrefixStore(store_, "x")->Counters();  // a wrapper reports its base's
  EXPECT_EQ(counters["PUT"], 1);
  EXPECT_EQ(counters["bytes_written"], 5);
  EXPECT_EQ(counters["GET"], 1);
  EXPECT_EQ(counters["bytes_read"], 2);
  EXPECT_EQ(counters["COPY"], 1);
  EXPECT_EQ(counters["HEAD"], 1);
  EXPECT_EQ(counters["LIST"], 1);
  EXPECT_EQ(counters["DELETE"], 1);
}

TEST_F(LocalStoreTest, TagIsAnXattrOfTheFile) {
  if (!store_->Capabilities().tags) GTEST_SKIP() << "the filesystem of /tmp takes no user xattrs";
  PutOptions tagged;
  tagged.tag = "t-1.2";
  ASSERT_TRUE(store_->Write("x/a", "data", tagged).ok());
  char value[64] = {};
  ssize_t n = ::getxattr((root_ + "/x/a").c_str(), "user.lakepack.tag", value, sizeof(value));
  ASSERT_EQ(n, 5);
  EXPECT_EQ(std::string(value, 5), "t-1.2");
  EXPECT_TRUE(TempFiles(root_).empty());
}

TEST_F(LocalStoreTest, CompareAndSwapLeavesNoDebris) {
  PutOptions cas;
  cas.if_match = "1-2-3";
  // Nothing to swap in a directory that does not exist: refused before it is made.
  auto absent = store_->Write("fresh/dir/k", "x", cas);
  EXPECT_EQ(absent.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(root_ + "/fresh"));
  // Refused over a changed object: no temp file stays.
  auto v1 = store_->Write("d/k", "v1");
  ASSERT_TRUE(v1.ok());
  auto stale = store_->Write("d/k", "v2", cas);
  EXPECT_EQ(stale.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(TempFiles(root_).empty());
  // A consumed source on the same filesystem is moved into place.
  const std::string source = scratch_ + "/new";
  WriteLocalFile(source, "v2 moved");
  cas.if_match = v1->etag;
  cas.consume_source = true;
  auto moved = store_->WriteFromFile("d/k", source, cas);
  ASSERT_TRUE(moved.ok()) << moved.status().ToString();
  EXPECT_FALSE(fs::exists(source));
  EXPECT_EQ(ReadLocalFile(root_ + "/d/k"), "v2 moved");
  EXPECT_TRUE(TempFiles(root_).empty());
}

// A compare-and-swap and a pinned delete from the same ETag: exactly one of them acts.
TEST_F(LocalStoreTest, CompareAndSwapAndPinnedDeleteExcludeEachOther) {
  for (int round = 0; round < 20; ++round) {
    auto base = store_->Write("race/k", "base " + std::to_string(round));
    ASSERT_TRUE(base.ok());
    Status swapped;
    Result<std::vector<std::string>> deleted = std::vector<std::string>{};
    std::thread writer([&] {
      PutOptions cas;
      cas.if_match = base->etag;
      swapped = store_->Write("race/k", "swapped", cas).status();
    });
    std::thread deleter([&] { deleted = store_->DeletePinned({{"race/k", base->etag}}); });
    writer.join();
    deleter.join();
    ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
    auto now = store_->Stat("race/k");
    ASSERT_TRUE(now.ok());
    if (swapped.ok()) {
      // The swap came first: the delete found another ETag and kept the object.
      EXPECT_EQ(*deleted, std::vector<std::string>{"race/k"});
      ASSERT_TRUE(now->has_value());
      EXPECT_EQ(ReadLocalFile(root_ + "/race/k"), "swapped");
    } else {
      // The delete came first: the swap found nothing.
      EXPECT_EQ(swapped.code(), StatusCode::kFailedPrecondition) << swapped.ToString();
      EXPECT_TRUE(deleted->empty());
      EXPECT_FALSE(now->has_value());
    }
  }
}

TEST_F(LocalStoreTest, PinnedOperationsCount) {
  auto v = store_->Write("p/a", "12345");
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(store_->ReadPinned("p/a", v->etag, {1, 2}).ok());
  ASSERT_TRUE(store_->DeletePinned({{"p/a", v->etag}}).ok());
  auto counters = store_->Counters();
  EXPECT_EQ(counters["GET"], 1);
  EXPECT_EQ(counters["bytes_read"], 2);
  EXPECT_EQ(counters["DELETE"], 1);
}

TEST_F(LocalStoreTest, AbsoluteLocalPath) {
  EXPECT_EQ(*AbsoluteLocalPath("/a//b/./c/.."), "/a/b");
  EXPECT_EQ(*AbsoluteLocalPath("/../.."), "/");
  EXPECT_EQ(*AbsoluteLocalPath("x/y"), fs::current_path().string() + "/x/y");
  EXPECT_FALSE(AbsoluteLocalPath("").ok());
}

TEST_F(LocalStoreTest, ObjectsAreFilesBelowTheRoot) {
  Put("2024/01/a.csv", "hello");
  EXPECT_EQ(ReadLocalFile(root_ + "/2024/01/a.csv"), "hello");
  // Files put there by other programs are objects too.
  fs::create_directories(root_ + "/ext");
  WriteLocalFile(root_ + "/ext/b.csv", "world");
  auto all = store_->ListAll("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"2024/01/a.csv", "ext/b.csv"}));
  auto read = store_->Read("ext/b.csv");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "world");
}

TEST_F(LocalStoreTest, EtagIsSizeMtimeInode) {
  auto written = store_->Write("k", std::string(300, 'x'));
  ASSERT_TRUE(written.ok());
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/k").c_str(), &st), 0);
  char expected[64];
  std::snprintf(
      expected, sizeof(expected), "12c-%llx-%llx",
      static_cast<unsigned long long>(st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec),
      static_cast<unsigned long long>(st.st_ino));
  EXPECT_EQ(written->etag, expected);
  EXPECT_EQ(written->mtime_ns, st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
}

TEST_F(LocalStoreTest, NoTempFilesAfterWrites) {
  Put("a/b/c", "1");
  Put("a/b/c", "2");
  WriteLocalFile(scratch_ + "/src", "3");
  ASSERT_TRUE(store_->WriteFromFile("a/d", scratch_ + "/src").ok());
  ASSERT_TRUE(store_->Copy("a/d", "e/f").ok());
  EXPECT_TRUE(TempFiles(root_).empty());
}

TEST_F(LocalStoreTest, FailedWritesLeaveNoTempFile) {
  // The parent of the key is a regular file: the write cannot create its directory.
  Put("file", "I am a file");
  auto under_file = store_->Write("file/child", "x");
  ASSERT_FALSE(under_file.ok());
  EXPECT_EQ(under_file.status().code(), StatusCode::kFailedPrecondition)
      << under_file.status().ToString();
  EXPECT_NE(under_file.status().message().find(root_ + "/file"), std::string::npos)
      << under_file.status().ToString();

  // The key is a directory holding other keys: the temp file is written, the rename fails.
  Put("dir/inside", "x");
  auto onto_dir = store_->Write("dir", "x");
  ASSERT_FALSE(onto_dir.ok());
  EXPECT_EQ(onto_dir.status().code(), StatusCode::kFailedPrecondition)
      << onto_dir.status().ToString();
  PutOptions create_only;
  create_only.if_none_match = true;
  EXPECT_FALSE(store_->Write("dir", "x", create_only).ok());

  // The source file is missing.
  auto no_source = store_->WriteFromFile("x/y", scratch_ + "/missing");
  ASSERT_FALSE(no_source.ok());
  EXPECT_EQ(no_source.status().code(), StatusCode::kNotFound);
  EXPECT_NE(no_source.status().message().find(scratch_ + "/missing"), std::string::npos);

  EXPECT_TRUE(TempFiles(root_).empty());
  EXPECT_EQ(ReadLocalFile(root_ + "/file"), "I am a file");
}

TEST_F(LocalStoreTest, TempFilesNeverShowInListings) {
  Put("t/real", "x");
  WriteLocalFile(root_ + "/t/.lakepack-tmp-0123456789abcdef", "half written");
  fs::create_directories(root_ + "/t/.lakepack-tmp-dir");
  WriteLocalFile(root_ + "/t/.lakepack-tmp-dir/inner", "x");
  WriteLocalFile(root_ + "/.lakepack-tmp-top", "x");
  auto all = store_->ListAll("");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Keys(*all), std::vector<std::string>{"t/real"});
  ListOptions by_dir;
  by_dir.prefix = "t/";
  by_dir.delimiter = "/";
  auto page = store_->List(by_dir);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->common_prefixes.empty());
  // The names are reserved: they can be neither read nor written as keys.
  EXPECT_EQ(store_->Stat("t/.lakepack-tmp-0123456789abcdef").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Write(".lakepack-tmp-x/y", "x").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, KeysCannotEscapeTheRoot) {
  WriteLocalFile(dir_ + "/outside", "secret");
  const std::vector<std::string> bad = {"../outside", "/etc/passwd", "a/../../outside", "..",
                                        std::string("a\0b", 3)};
  for (const std::string& key : bad) {
    SCOPED_TRACE(key);
    EXPECT_EQ(store_->Write(key, "x").status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Read(key).status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Delete({key}).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->LocalPath(key), std::nullopt);
  }
  EXPECT_EQ(ReadLocalFile(dir_ + "/outside"), "secret");
  // Prefixes are not keys, but must not walk outside either.
  for (const char* prefix : {"../", "/", "./", "a/../../", "../o"}) {
    ListOptions options;
    options.prefix = prefix;
    auto page = store_->List(options);
    ASSERT_TRUE(page.ok()) << prefix;
    EXPECT_TRUE(page->objects.empty()) << prefix;
  }
  // A prefix store cannot be climbed out of either.
  auto sub = MakePrefixStore(store_, "sub");
  EXPECT_EQ(sub->Write("../outside", "x").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadLocalFile(dir_ + "/outside"), "secret");
}

TEST_F(LocalStoreTest, DeletePrunesEmptyDirectoriesButNotTheRoot) {
  Put("a/b/c/d.txt", "x");
  Put("a/keep.txt", "y");
  ASSERT_TRUE(store_->Delete({"a/b/c/d.txt"}).ok());
  EXPECT_FALSE(fs::exists(root_ + "/a/b"));
  EXPECT_TRUE(fs::exists(root_ + "/a/keep.txt"));
  ASSERT_TRUE(store_->Delete({"a/keep.txt"}).ok());
  EXPECT_FALSE(fs::exists(root_ + "/a"));
  EXPECT_TRUE(fs::is_directory(root_));
  EXPECT_TRUE(fs::is_empty(root_));
}

TEST_F(LocalStoreTest, DeleteOfADirectoryKeyIsANoOp) {
  Put("d/x", "x");
  ASSERT_TRUE(store_->Delete({"d"}).ok());
  EXPECT_TRUE(fs::exists(root_ + "/d/x"));
}

TEST_F(LocalStoreTest, ReadOfADirectoryIsNotFound) {
  Put("d/x", "x");
  EXPECT_EQ(store_->Read("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->Copy("d", "e").code(), StatusCode::kNotFound);
}

TEST_F(LocalStoreTest, ReadToFileRefusesToOverwriteItsSource) {
  Put("self", "precious");
  Status st = store_->ReadToFile("self", root_ + "/self");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(ReadLocalFile(root_ + "/self"), "precious");
}

TEST_F(LocalStoreTest, ReadToFileRemovesPartialFileOnFailure) {
  Put("obj", "content");
  // The target's directory does not exist: the error names the target path.
  Status st = store_->ReadToFile("obj", scratch_ + "/no/such/dir/out");
  EXPECT_EQ(st.code(), StatusCode::kIOError) << "NotFound would claim the object is missing";
  EXPECT_NE(st.message().find(scratch_ + "/no/such/dir/out"), std::string::npos);
  // Range errors are found before the target is created.
  st = store_->ReadToFile("obj", scratch_ + "/out", {100, 1});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(scratch_ + "/out"));
}

TEST_F(LocalStoreTest, ConsumeSourceMovesTheFile) {
  const std::string src = scratch_ + "/spool";
  WriteLocalFile(src, "moved");
  ::chmod(src.c_str(), 0600);
  struct stat before;
  ASSERT_EQ(::stat(src.c_str(), &before), 0);
  PutOptions consume;
  consume.consume_source = true;
  auto written = store_->WriteFromFile("m/obj", src, consume);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_FALSE(fs::exists(src));
  struct stat after;
  ASSERT_EQ(::stat((root_ + "/m/obj").c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "same filesystem: renamed, not copied";
  // The object gets the mode of any new object, not the spool file's private one.
  mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(after.st_mode & 0777, 0666 & ~mask);
  EXPECT_EQ(written->size, 5);
  EXPECT_EQ(ReadLocalFile(root_ + "/m/obj"), "moved");
}

TEST_F(LocalStoreTest, ConsumeSourceCreateOnlyConflictKeepsTheSource) {
  Put("m/obj", "old");
  const std::string src = scratch_ + "/spool";
  WriteLocalFile(src, "new");
  PutOptions options;
  options.consume_source = true;
  options.if_none_match = true;
  auto written = store_->WriteFromFile("m/obj", src, options);
  ASSERT_FALSE(written.ok());
  EXPECT_EQ(written.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadLocalFile(src), "new");
  EXPECT_EQ(ReadLocalFile(root_ + "/m/obj"), "old");
}

TEST_F(LocalStoreTest, ConsumeSourceCopiesASymlink) {
  const std::string target = scratch_ + "/target";
  WriteLocalFile(target, "via link");
  fs::create_symlink(target, scratch_ + "/link");
  PutOptions consume;
  consume.consume_source = true;
  ASSERT_TRUE(store_->WriteFromFile("l", scratch_ + "/link", consume).ok());
  EXPECT_FALSE(fs::is_symlink(root_ + "/l"));
  EXPECT_EQ(ReadLocalFile(root_ + "/l"), "via link");
  EXPECT_EQ(ReadLocalFile(target), "via link");
}

TEST_F(LocalStoreTest, ConsumeSourceAcrossFilesystemsCopies) {
  struct stat shm, tmp;
  if (::stat("/dev/shm", &shm) != 0 || ::stat(root_.c_str(), &tmp) != 0 ||
      shm.st_dev == tmp.st_dev || ::access("/dev/shm", W_OK) != 0) {
    GTEST_SKIP() << "needs /dev/shm on another filesystem than " << root_;
  }
  char pattern[] = "/dev/shm/lakepack-consume-XXXXXX";
  int fd = ::mkstemp(pattern);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "far", 3), 3);
  ::close(fd);
  PutOptions consume;
  consume.consume_source = true;
  auto written = store_->WriteFromFile("far", pattern, consume);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_FALSE(fs::exists(pattern));
  EXPECT_EQ(ReadLocalFile(root_ + "/far"), "far");
}

TEST_F(LocalStoreTest, SymlinksInsideTheRoot) {
  Put("real/file", "data");
  fs::create_symlink(root_ + "/real/file", root_ + "/linked-file");
  fs::create_symlink(root_ + "/real", root_ + "/linked-dir");
  auto all = store_->ListAll("");
  ASSERT_TRUE(all.ok());
  // Symlinked files are objects; symlinked directories are not walked.
  EXPECT_EQ(Keys(*all), (std::vector<std::string>{"linked-file", "real/file"}));
  auto read = store_->Read("linked-file");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, "data");
}

TEST_F(LocalStoreTest, ListingWithOtherDelimiters) {
  for (const char* key : {"h/year=2024/a", "h/year=2025/b", "h/other"}) Put(key, "x");
  ListOptions options;
  options.prefix = "h/year";
  options.delimiter = "=";
  auto page = store_->List(options);
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->objects.empty());
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"h/year="});

  options.prefix = "h/";
  options.delimiter = "/a";
  page = store_->List(options);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(Keys(page->objects), (std::vector<std::string>{"h/other", "h/year=2025/b"}));
  EXPECT_EQ(page->common_prefixes, std::vector<std::string>{"h/year=2024/a"});
}

TEST_F(LocalStoreTest, PaginationSurvivesChangesBetweenPages) {
  for (const char* key : {"p/a", "p/b", "p/c", "p/d", "p/e", "p/f"}) Put(key, "x");
  ListOptions options;
  options.prefix = "p/";
  options.max_keys = 3;
  auto first = store_->List(options);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Keys(first->objects), (std::vector<std::string>{"p/a", "p/b", "p/c"}));
  ASSERT_FALSE(first->next_token.empty());
  // Removing a key already returned and adding one before the boundary moves nothing.
  ASSERT_TRUE(store_->Delete({"p/c"}).ok());
  Put("p/bb", "x");
  Put("p/g", "x");
  options.continuation_token = first->next_token;
  auto second = store_->List(options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Keys(second->objects), (std::vector<std::string>{"p/d", "p/e", "p/f"}));
  options.continuation_token = second->next_token;
  auto third = store_->List(options);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(Keys(third->objects), std::vector<std::string>{"p/g"});
  EXPECT_TRUE(third->next_token.empty());
}

TEST_F(LocalStoreTest, ExactlyFullPageHasNoToken) {
  for (const char* key : {"f/a", "f/b", "f/c"}) Put(key, "x");
  ListOptions options;
  options.max_keys = 3;
  auto page = store_->List(options);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), 3u);
  EXPECT_TRUE(page->next_token.empty());
  options.max_keys = 0;
  EXPECT_EQ(store_->List(options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LocalStoreTest, WritesRaceWithDeletesThatPruneDirectories) {
  // Deleting the last key of a directory removes it, while another thread writes into it.
  std::atomic<bool> failed{false};
  std::string failure;
  auto worker = [&](const std::string& key) {
    for (int i = 0; i < 200 && !failed; ++i) {
      auto written = store_->Write(key, "x");
      Status deleted = store_->Delete({key});
      if (!written.ok() || !deleted.ok()) {
        if (!failed.exchange(true)) {
          failure = written.ok() ? deleted.ToString() : written.status().ToString();
        }
      }
    }
  };
  std::thread a(worker, "race/x/y/one");
  std::thread b(worker, "race/x/y/two");
  std::thread c(worker, "race/x/three");
  a.join();
  b.join();
  c.join();
  EXPECT_FALSE(failed) << failure;
  EXPECT_TRUE(TempFiles(root_).empty());
}

// S3's listing rules written out plainly over a sorted key list: the reference the directory
// walk must match page for page.
std::vector<ListPage> ReferencePages(const std::vector<std::string>& sorted_keys,
                                     const ListOptions& options) {
  std::vector<std::pair<std::string, bool>> entries;  // (key or common prefix, is_prefix)
  for (const std::string& key : sorted_keys) {
    if (key.rfind(options.prefix, 0) != 0) continue;
    size_t pos = options.delimiter.empty() ? std::string::npos
                                           : key.find(options.delimiter, options.prefix.size());
    if (pos == std::string::npos) {
      entries.emplace_back(key, false);
      continue;
    }
    std::string common = key.substr(0, pos + options.delimiter.size());
    if (entries.empty() || entries.back().first != common) entries.emplace_back(common, true);
  }
  std::vector<ListPage> pages;
  for (size_t i = 0; i == 0 || i < entries.size(); i += options.max_keys) {
    ListPage page;
    for (size_t j = i; j < std::min(entries.size(), i + options.max_keys); ++j) {
      if (entries[j].second) {
        page.common_prefixes.push_back(entries[j].first);
      } else {
        page.objects.push_back(ObjectInfo{entries[j].first});
      }
    }
    if (i + options.max_keys < entries.size()) page.next_token = "more";
    pages.push_back(std::move(page));
  }
  return pages;
}

TEST_F(LocalStoreTest, ListingMatchesS3RulesOnRandomTrees) {
  // Characters around '/' in byte order ('-' '.' < '/' < '0' '=' 'a'), and a UTF-8 one.
  const std::vector<std::string> alphabet = {"a", "b", "-", ".", "0", "=", "\xc3\xa9"};
  std::mt19937 rng(20240601);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  std::set<std::string> keys, dirs;
  while (keys.size() < 80) {
    std::string key;
    size_t depth = 1 + pick(3);
    for (size_t d = 0; d < depth; ++d) {
      std::string segment;
      for (size_t n = 1 + pick(3); n > 0; --n) segment += alphabet[pick(alphabet.size())];
      if (segment == "." || segment == "..") segment += "a";
      key += (d ? "/" : "") + segment;
    }
    // A file and a directory cannot share a name on disk.
    if (dirs.count(key) || keys.count(key)) continue;
    bool clash = false;
    for (size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      if (keys.count(key.substr(0, slash))) clash = true;
    }
    if (clash) continue;
    for (size_t slash = key.find('/'); slash != std::string::npos;
         slash = key.find('/', slash + 1)) {
      dirs.insert(key.substr(0, slash));
    }
    keys.insert(key);
    Put(key, "v");
  }
  const std::vector<std::string> sorted(keys.begin(), keys.end());
  const std::vector<std::string> delimiters = {"", "/", "-", "a", "/a", "="};
  for (int round = 0; round < 300; ++round) {
    ListOptions options;
    const std::string& some_key = sorted[pick(sorted.size())];
    options.prefix = pick(4) == 0 ? "" : some_key.substr(0, pick(some_key.size() + 1));
    options.delimiter = delimiters[pick(delimiters.size())];
    options.max_keys = 1 + static_cast<int>(pick(9));
    SCOPED_TRACE("prefix '" + options.prefix + "' delimiter '" + options.delimiter + "' max_keys " +
                 std::to_string(options.max_keys));
    std::vector<ListPage> expected = ReferencePages(sorted, options);
    for (size_t page_no = 0;; ++page_no) {
      ASSERT_LT(page_no, expected.size()) << "more pages than S3 would give";
      auto page = store_->List(options);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      EXPECT_EQ(Keys(page->objects), Keys(expected[page_no].objects)) << "page " << page_no;
      EXPECT_EQ(page->common_prefixes, expected[page_no].common_prefixes) << "page " << page_no;
      ASSERT_EQ(page->next_token.empty(), expected[page_no].next_token.empty())
          << "page " << page_no;
      if (page->next_token.empty()) break;
      options.continuation_token = page->next_token;
    }
  }
}

}  // namespace
}  // namespace lakepack
