// Unit tests for the typed option values: the byte-size parser and the enum names.
#include "lakepack/options.h"

#include <gtest/gtest.h>

#include <string>

namespace lakepack {
namespace {

int64_t Bytes(std::string_view text) {
  auto r = ParseByteSize(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? r->bytes() : -1;
}

TEST(ByteSizeTest, DecimalUnitsArePowersOf1000) {
  EXPECT_EQ(Bytes("1KB"), 1000);
  EXPECT_EQ(Bytes("256MB"), 256LL * 1000 * 1000);
  EXPECT_EQ(Bytes("2GB"), 2LL * 1000 * 1000 * 1000);
  EXPECT_EQ(Bytes("3TB"), 3LL * 1000 * 1000 * 1000 * 1000);
}

TEST(ByteSizeTest, BinaryUnitsArePowersOf1024) {
  EXPECT_EQ(Bytes("1KiB"), 1024);
  EXPECT_EQ(Bytes("256MiB"), 256LL << 20);
  EXPECT_EQ(Bytes("2GiB"), 2LL << 30);
  EXPECT_EQ(Bytes("3TiB"), 3LL << 40);
  // Single letters as GNU tools read them (and as LAKEPACK_S3_PART_SIZE=5M always meant).
  EXPECT_EQ(Bytes("5M"), 5LL << 20);
  EXPECT_EQ(Bytes("8k"), 8LL << 10);
  EXPECT_EQ(Bytes("1G"), 1LL << 30);
  EXPECT_EQ(Bytes("1T"), 1LL << 40);
}

TEST(ByteSizeTest, BareNumbersAreBytes) {
  EXPECT_EQ(Bytes("0"), 0);
  EXPECT_EQ(Bytes("1000"), 1000);
  EXPECT_EQ(Bytes("8388608"), 8388608);
  EXPECT_EQ(Bytes("17B"), 17);
}

TEST(ByteSizeTest, DecimalsCaseAndSpaces) {
  EXPECT_EQ(Bytes("1.5GB"), 1500LL * 1000 * 1000);
  EXPECT_EQ(Bytes("1.5GiB"), 3LL << 29);
  EXPECT_EQ(Bytes("0.5kb"), 500);
  EXPECT_EQ(Bytes("256mb"), 256LL * 1000 * 1000);
  EXPECT_EQ(Bytes("256MIB"), 256LL << 20);
  EXPECT_EQ(Bytes("256 MB"), 256LL * 1000 * 1000);
  EXPECT_EQ(Bytes("1.KB"), 1000);
  EXPECT_EQ(Bytes("1.5"), 2);  // rounded to whole bytes
}

TEST(ByteSizeTest, OthersAreInvalidArgumentNamingTheText) {
  for (const char* text :
       {"", "big", "lots", "MB", ".", ".MB", "-1", "-1MB", "1..5MB", "1.2.3", "10 PB", "12XB",
        "1MBB", " 1MB", "1MB ", "1e3", "0x10", "99999999999TB"}) {
    auto r = ParseByteSize(text);
    ASSERT_FALSE(r.ok()) << "'" << text << "' parsed as " << r->bytes();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(r.status().message(),
              "bad size '" + std::string(text) + "' (e.g. 256MB, 64MiB or 1000000)");
  }
}

TEST(OptionNamesTest, EveryValueHasItsName) {
  EXPECT_EQ(GroupingName(Grouping::kHour), "hour");
  EXPECT_EQ(GroupingName(Grouping::kDay), "day");
  EXPECT_EQ(GroupingName(Grouping::kMonth), "month");
  EXPECT_EQ(GroupingName(Grouping::kYear), "year");
  EXPECT_EQ(ExportLayoutName(ExportLayout::kHiveDate), "hive-date");
  EXPECT_EQ(ExportLayoutName(ExportLayout::kByPartition), "by-partition");
  EXPECT_EQ(ExportLayoutName(ExportLayout::kFlat), "flat");
  EXPECT_EQ(PackFormatName(PackFormat::kSnappyParquet), "snappy.parquet");
  EXPECT_EQ(PackFormatName(PackFormat::kParquet), "parquet");
  EXPECT_EQ(PackFormatName(PackFormat::kCsv), "csv");
  EXPECT_EQ(PackFormatName(PackFormat::kJsonLines), "jsonl");
}

}  // namespace
}  // namespace lakepack
