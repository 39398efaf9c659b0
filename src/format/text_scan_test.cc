// Unit tests of lakepack's own pass over CSV and JSON-lines files.
#include "format/text_scan.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <vector>

namespace lakepack {
namespace {

class TextScanTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& content, const std::string& ext = "csv") {
    std::string path = ::testing::TempDir() + "/scan" + std::to_string(n_++) + "." + ext;
    std::ofstream(path, std::ios::binary) << content;
    paths_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& p : paths_) std::remove(p.c_str());
  }
  std::vector<std::string> paths_;
  int n_ = 0;
};

TEST_F(TextScanTest, CountsRowsAndDecidesTheDelimiter) {
  auto s = ScanTextFile(Write("a;b;c\n1;2;3\n4;5;6\n"), FileFormat::kCsv, 0);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->delimiter, ';');
  EXPECT_EQ(s->header_fields, 3);
  EXPECT_EQ(s->rows, 2);
  // A comma inside quotes does not count; the tab splits consistently.
  s = ScanTextFile(Write("a\tb\n\"x,y\"\t2\n"), FileFormat::kCsv, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->delimiter, '\t');
  // One column.
  s = ScanTextFile(Write("only\n1\n\n2\n"), FileFormat::kCsv, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->header_fields, 1);
  EXPECT_EQ(s->rows, 3) << "a blank line of a one-column file is a NULL value";
  s = ScanTextFile(Write(""), FileFormat::kCsv, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->header_fields, 0);
  EXPECT_EQ(s->rows, 0);
}

TEST_F(TextScanTest, QuotedNewlinesCountTheirLines) {
  auto s = ScanTextFile(Write("a,b\n1,\"x\ny\"\n2,3,4\n"), FileFormat::kCsv, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find(": line 4: 3 fields, but the header has 2"),
            std::string::npos)
      << s.status().message();
}

TEST_F(TextScanTest, RejectsGoToTheCallbackAndTheCleanCopyHoldsTheRest) {
  std::string clean = ::testing::TempDir() + "/clean.csv";
  paths_.push_back(clean);
  std::vector<BadRecord> bad;
  std::vector<std::string> texts;
  auto s = ScanTextFile(
      Write("a,b\n1,2\n3\n4,5\n6,7,8"), FileFormat::kCsv, 0,
      [&](const BadRecord& r) {
        bad.push_back(r);
        texts.emplace_back(r.text);
      },
      clean);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->rows, 2);
  EXPECT_EQ(s->rejected, 2);
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0].line, 3);
  EXPECT_EQ(texts[0], "3\n");
  EXPECT_EQ(bad[1].line, 5);
  std::ifstream in(clean, std::ios::binary);
  std::string kept((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(kept, "a,b\n1,2\n4,5\n");
}

TEST_F(TextScanTest, JsonLinesMustBeObjects) {
  auto s = ScanTextFile(Write("{\"a\":1}\n\n {\"a\":2}\n", "jsonl"), FileFormat::kJsonLines, 0);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->rows, 2);
  s = ScanTextFile(Write("{\"a\":1}\n\"text\"\n", "jsonl"), FileFormat::kJsonLines, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 2: not a JSON object"), std::string::npos);
  s = ScanTextFile(Write("{\"a\":1\n", "jsonl"), FileFormat::kJsonLines, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("line 1: not valid JSON"), std::string::npos);
}

}  // namespace
}  // namespace lakepack
