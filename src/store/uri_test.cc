// Unit tests for location parsing and for opening local stores and objects by URI.
#include "lakepack/uri.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace lakepack {
namespace {

std::string Cwd() { return std::filesystem::current_path().string(); }

Location Parse(std::string_view uri) {
  Result<Location> loc = ParseLocation(uri);
  EXPECT_TRUE(loc.ok()) << uri << ": " << loc.status().ToString();
  return loc.ok() ? *loc : Location{};
}

void ExpectInvalid(std::string_view uri, std::string_view message_part) {
  Result<Location> loc = ParseLocation(uri);
  ASSERT_FALSE(loc.ok()) << uri << " parsed";
  EXPECT_EQ(loc.status().code(), StatusCode::kInvalidArgument) << loc.status().ToString();
  EXPECT_NE(loc.status().message().find(message_part), std::string::npos)
      << loc.status().ToString();
}

TEST(ParseLocationTest, S3BucketAndPrefix) {
  Location loc = Parse("s3://my-bucket/data/2024");
  EXPECT_EQ(loc.kind, StoreKind::kS3);
  EXPECT_EQ(loc.root, "my-bucket");
  EXPECT_EQ(loc.path, "data/2024");
  EXPECT_EQ(loc.original, "s3://my-bucket/data/2024");

  EXPECT_EQ(Parse("s3://b").path, "");
  EXPECT_EQ(Parse("s3://b/").path, "");
  EXPECT_EQ(Parse("s3://b/dir/").path, "dir/");
  EXPECT_EQ(Parse("S3://b/x").kind, StoreKind::kS3);
  EXPECT_EQ(Parse("s3://Legacy_Bucket.1/x").root, "Legacy_Bucket.1");
  EXPECT_EQ(Parse("s3://b/year=2024/a b+c.csv").path, "year=2024/a b+c.csv");
}

TEST(ParseLocationTest, S3Errors) {
  ExpectInvalid("s3://", "s3://: the bucket name is empty");
  ExpectInvalid("s3:///prefix", "bucket name is empty");
  ExpectInvalid("s3://bad bucket/x", "bad bucket");
  ExpectInvalid("s3://b?x=1/y", "'?'");
  ExpectInvalid("s3://b/a/../c", "'..'");
  ExpectInvalid("s3://b/a//c", "empty segment");
  ExpectInvalid("s3://b//c", "s3://b//c");
  ExpectInvalid("s3:bucket/x", "unsupported location scheme 's3'");
  // S3 keys stop at 1,024 bytes; a longer one is refused here, before any request.
  ExpectInvalid("s3://b/" + std::string(1025, 'k'),
                "the key is 1025 bytes long; S3 allows at most 1024");
  EXPECT_TRUE(ParseLocation("s3://b/" + std::string(1024, 'k')).ok());
}

TEST(ParseLocationTest, UnknownSchemesAreRejected) {
  ExpectInvalid("http://example.com/x", "http://example.com/x: unsupported location scheme 'http'");
  ExpectInvalid("gs://bucket/x", "gs://bucket/x");
  ExpectInvalid("s3a://bucket/x", "'s3a'");
  ExpectInvalid("ftp://host/x", "'ftp'");
}

TEST(ParseLocationTest, FileUris) {
  Location abs = Parse("file:///data/lake");
  EXPECT_EQ(abs.kind, StoreKind::kLocal);
  EXPECT_EQ(abs.root, "/");
  EXPECT_EQ(abs.path, "data/lake");
  EXPECT_EQ(abs.original, "file:///data/lake");

  EXPECT_EQ(Parse("file:///data/./x/../lake/").path, "data/lake");
  EXPECT_EQ(Parse("FILE:///data").path, "data");
  EXPECT_EQ("/" + Parse("file://rel/dir").path, Cwd() + "/rel/dir");
  ExpectInvalid("file://", "names no path");
}

TEST(ParseLocationTest, BarePaths) {
  EXPECT_EQ(Parse("/abs//x/").path, "abs/x");
  EXPECT_EQ(Parse("/").path, "");
  EXPECT_EQ(Parse("/..").path, "");
  EXPECT_EQ(Parse("/a/b/../../..").path, "");
  EXPECT_EQ("/" + Parse("relative/x").path, Cwd() + "/relative/x");
  EXPECT_EQ("/" + Parse(".").path, Cwd());
  // A colon is an ordinary character of a path when no known scheme is meant.
  EXPECT_EQ("/" + Parse("a:b").path, Cwd() + "/a:b");
  EXPECT_EQ("/" + Parse("./x://y").path, Cwd() + "/x:/y");
  ExpectInvalid("", "empty location");
  ExpectInvalid(std::string_view("a\0b", 3), "NUL");
}

class OpenStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/lakepack-uri-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(OpenStoreTest, OpensExistingDirectory) {
  auto store = OpenStore(dir_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ((*store)->Uri(), "file://" + dir_);
  auto via_uri = OpenStore("file://" + dir_ + "/./");
  ASSERT_TRUE(via_uri.ok()) << via_uri.status().ToString();
  EXPECT_EQ((*via_uri)->Uri(), "file://" + dir_);
}

TEST_F(OpenStoreTest, MissingDirectoryIsNotFoundUnlessCreated) {
  const std::string missing = dir_ + "/out/deeper";
  auto store = OpenStore(missing);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
  EXPECT_NE(store.status().message().find(missing), std::string::npos) << store.status().ToString();

  StoreOptions create;
  create.create_local_root = true;
  auto created = OpenStore(missing, create);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(std::filesystem::is_directory(missing));
}

TEST_F(OpenStoreTest, RegularFileIsNotAStore) {
  std::ofstream(dir_ + "/file") << "x";
  auto store = OpenStore(dir_ + "/file");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(OpenStoreTest, BadS3LocationsFailBeforeAnyConnection) {
  EXPECT_EQ(OpenStore("s3://").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStore("gs://bucket").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(OpenStoreTest, OpenObjectSplitsParentAndName) {
  std::filesystem::create_directories(dir_ + "/in");
  std::ofstream(dir_ + "/in/a.csv") << "x,y\n";
  auto ref = OpenObject(dir_ + "/in/a.csv");
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->key, "a.csv");
  EXPECT_EQ(ref->store->Uri(), "file://" + dir_ + "/in");
  auto data = ref->store->Read(ref->key);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, "x,y\n");
}

TEST_F(OpenStoreTest, OpenObjectCreatesParentOnlyWhenAsked) {
  const std::string target = dir_ + "/new/dir/out.parquet";
  auto missing = OpenObject(target);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  StoreOptions create;
  create.create_local_root = true;
  auto ref = OpenObject("file://" + target, create);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->key, "out.parquet");
  ASSERT_TRUE(ref->store->Write(ref->key, "data").ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(target));
}

TEST_F(OpenStoreTest, OpenObjectNeedsAnObjectName) {
  EXPECT_EQ(OpenObject(dir_ + "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenObject("/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenObject("s3://bucket").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenObject("s3://bucket/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenObject("s3://bucket/dir/").status().code(), StatusCode::kInvalidArgument);
  auto status = OpenObject("s3://bucket").status();
  EXPECT_NE(status.message().find("names a bucket"), std::string::npos) << status.ToString();
}

}  // namespace
}  // namespace lakepack
