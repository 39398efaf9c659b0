#include "common/crc32.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace lakepack {
namespace {

// The CRC-32 every S3 endpoint means by CRC32 (x-amz-checksum-crc32): the standard check value
// of "123456789", and a CRC continued over pieces equals the CRC of the whole.
TEST(Crc32Test, IsTheStandardCrcAndContinues) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32("6789", Crc32("12345")), 0xCBF43926u);
}

TEST(Crc32Test, OfAFileRangeMatchesTheBytesAndNamesAShortFile) {
  std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                     "/lakepack-crc32-XXXXXX";
  int fd = ::mkstemp(path.data());
  ASSERT_GE(fd, 0);
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i * 31 + i / 7);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  auto whole = Crc32OfFileRange(fd, path, 0, static_cast<int64_t>(data.size()));
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  EXPECT_EQ(*whole, Crc32(data));
  auto middle = Crc32OfFileRange(fd, path, 12345, 2 << 20);
  ASSERT_TRUE(middle.ok());
  EXPECT_EQ(*middle, Crc32(std::string_view(data).substr(12345, 2 << 20)));
  auto past = Crc32OfFileRange(fd, path, static_cast<int64_t>(data.size()) - 10, 20);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find(path), std::string::npos) << past.status().ToString();
  ::close(fd);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace lakepack
