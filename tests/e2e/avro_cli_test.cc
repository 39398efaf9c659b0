// End-to-end: `lakepack inspect` and `lakepack convert` on Avro container files (SiteWise's
// RawDatum schema), as a user runs them: what they print, exit codes, what OUT holds.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/harness.h"
#include "format/avro_codec.h"
#include "format/avro_container.h"
#include "unit/avro_raw_datum.h"

namespace lakepack::e2e {
namespace {

using nlohmann::json;
using test_util::EncodeDatum;
using test_util::RawDatum;
using test_util::SampleDatum;

// `n` records in blocks of 1000; stringValue is null in the first 25,000 (more than the JSON
// reader's type-detection sample) and set after, as a column of late values would be.
void WriteLateStrings(const std::string& path, int n) {
  auto w = AvroContainerWriter::Create(path, test_util::kRawDatumSchema, AvroCodec::kSnappy,
                                       {{"lakepack.sources", "[\"raw/a.avro\"]"}});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::string block;
  int in_block = 0;
  for (int i = 0; i < n; ++i) {
    RawDatum d = SampleDatum(i);
    d.string_value.reset();
    if (i >= 25000) d.string_value = "late \"" + std::to_string(i) + "\"";
    block += EncodeDatum(d);
    if (++in_block == 1000 || i + 1 == n) {
      ASSERT_TRUE((*w)->AppendRecords(in_block, block).ok());
      block.clear();
      in_block = 0;
    }
  }
  ASSERT_TRUE((*w)->Finish().ok());
}

TEST(AvroCli, InspectShowsSchemaCodecBlocksRecordsAndMetadata) {
  ScratchDir d;
  ASSERT_TRUE(test_util::WriteSampleAvro(d / "a.avro", AvroCodec::kSnappy, 0, 3, 100, false,
                                         {{"lakepack.sources", "[\"raw/a.avro\"]"}})
                  .ok());
  auto r = Lakepack({"inspect", d / "a.avro"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("format:      avro\nrows:        300\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("codec:       snappy\nblocks:      3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  lakepack.sources         [\"raw/a.avro\"]\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  doubleValue              [\"null\",\"double\"]\n"), std::string::npos)
      << r.out;
  auto j = Lakepack({"inspect", d / "a.avro", "--json"});
  ASSERT_EQ(j.exit_code, 0) << j.All();
  json info = json::parse(j.out);
  EXPECT_EQ(info["format"], "avro");
  EXPECT_EQ(info["rows"], 300);
  EXPECT_EQ(info["blocks"], 3);
  EXPECT_EQ(info["codec"], "snappy");
  EXPECT_EQ(info["schema"]["name"], "RawDatum");
  EXPECT_EQ(info["metadata"]["lakepack.sources"], "[\"raw/a.avro\"]");
  EXPECT_EQ(info["columns"].size(), 10u);
}

TEST(AvroCli, ConvertToParquetCsvAndJsonLinesKeepsEveryValue) {
  ScratchDir d;
  const int n = 30000;
  WriteLateStrings(d / "in.avro", n);
  for (std::string ext : {"parquet", "csv", "jsonl"}) {
    auto r = Lakepack({"convert", d / "in.avro", d / ("out." + ext)});
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.out.find("30000 rows"), std::string::npos) << r.out;
  }
  // Parquet columns typed from the Avro schema, not guessed from the first values.
  auto info = json::parse(Lakepack({"inspect", d / "out.parquet", "--json"}).out);
  EXPECT_EQ(info["rows"], n);
  EXPECT_EQ(info["columns"][5]["name"], "stringValue");
  EXPECT_EQ(info["columns"][5]["type"], "VARCHAR");
  EXPECT_EQ(info["columns"][6]["type"], "INTEGER");
  ASSERT_EQ(Lakepack({"convert", d / "out.parquet", d / "back.jsonl"}).exit_code, 0);
  auto back = test_util::ReadJsonLines(d / "back.jsonl");
  auto direct = test_util::ReadJsonLines(d / "out.jsonl");
  ASSERT_EQ(back.size(), static_cast<size_t>(n));
  ASSERT_EQ(direct.size(), static_cast<size_t>(n));
  for (int i : {0, 1, 2, 3, 24999, 25000, 29999}) {
    EXPECT_EQ(back[i], direct[i]) << i;
    EXPECT_EQ(direct[i]["timeInSeconds"], SampleDatum(i).time_s);
  }
  EXPECT_EQ(direct[29999]["stringValue"], "late \"29999\"");
  EXPECT_NE(test_util::ReadAll(d / "out.csv").find(",\"late \"\"29999\"\"\","), std::string::npos);
}

TEST(AvroCli, ConvertAvroToAvroCopiesBlocksUnderANewSyncMarker) {
  ScratchDir d;
  ASSERT_TRUE(test_util::WriteSampleAvro(d / "a.avro", AvroCodec::kDeflate, 0, 4, 50).ok());
  auto r = Lakepack({"convert", d / "a.avro", d / "b.avro"});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  auto a = ReadAvroHeader(d / "a.avro"), b = ReadAvroHeader(d / "b.avro");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->codec, "deflate");
  EXPECT_NE(a->sync, b->sync);
  EXPECT_EQ(a->file_size, b->file_size);
}

TEST(AvroCli, CorruptAvroFailsNamingTheFileAndLeavesNoOutput) {
  ScratchDir d;
  ASSERT_TRUE(test_util::WriteSampleAvro(d / "a.avro", AvroCodec::kSnappy, 0, 3, 100).ok());
  std::string bytes = test_util::ReadAll(d / "a.avro");
  bytes[bytes.size() - 40] ^= 0x10;
  test_util::WriteAll(d / "bad.avro", bytes);
  auto i = Lakepack({"inspect", d / "bad.avro"});
  EXPECT_EQ(i.exit_code, 1) << i.All();
  EXPECT_EQ(i.err.rfind("lakepack inspect: error: " + d / "bad.avro" + ": block at byte ", 0), 0u)
      << i.err;
  auto c = Lakepack({"convert", d / "bad.avro", d / "out.parquet"});
  EXPECT_EQ(c.exit_code, 1) << c.All();
  EXPECT_EQ(c.err.rfind("lakepack convert: error: " + d / "bad.avro" + ": block at byte ", 0), 0u)
      << c.err;
  EXPECT_FALSE(std::filesystem::exists(d / "out.parquet"));
  test_util::WriteAll(d / "cut.avro", bytes.substr(0, bytes.size() / 2));
  auto t = Lakepack({"convert", d / "cut.avro", d / "out.jsonl"});
  EXPECT_EQ(t.exit_code, 1) << t.All();
  EXPECT_NE(t.err.find(d / "cut.avro" + ": block at byte "), std::string::npos) << t.err;
  EXPECT_NE(t.err.find("truncated"), std::string::npos) << t.err;
  EXPECT_FALSE(std::filesystem::exists(d / "out.jsonl"));
}

TEST(AvroCli, AvroOutputFromOtherFormatsIsBadUsage) {
  ScratchDir d;
  test_util::WriteAll(d / "a.csv", "x\n1\n");
  auto r = Lakepack({"convert", d / "a.csv", d / "a.avro"});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("convert writes Avro from Avro only"), std::string::npos) << r.err;
}

// avsc (tests/xread/avro_read.mjs), an Avro reader that shares no code with avro-c or lakepack,
// reads what ConcatAvro writes on its block-copy and decode paths, metadata included.
TEST(AvroCli, AvscReadsLakepackOutputs) {
  ScratchDir d;
  ASSERT_TRUE(test_util::WriteSampleAvro(d / "a.avro", AvroCodec::kSnappy, 0, 5, 100).ok());
  ASSERT_TRUE(test_util::WriteSampleAvro(d / "b.avro", AvroCodec::kDeflate, 500, 5, 100).ok());
  const std::string script = std::string(LAKEPACK_SOURCE_DIR) + "/tests/xread/avro_read.mjs";
  int n = 0;
  for (const std::string& schema : {test_util::kRawDatumSchema, test_util::kRawDatumV2Schema}) {
    for (AvroCodec codec : {AvroCodec::kSnappy, AvroCodec::kDeflate, AvroCodec::kNull}) {
      const std::string out = d / ("out" + std::to_string(n++) + ".avro");
      AvroWriteSpec spec{out, schema, codec, {{"lakepack.sources", "[\"raw/a.avro\"]"}}};
      spec.block_bytes = 8192;
      ASSERT_TRUE(ConcatAvro({{d / "a.avro", ""}, {d / "b.avro", ""}}, spec).ok());
      auto r = e2e::Run({"node", script, out});
      ASSERT_EQ(r.exit_code, 0) << r.All();
      test_util::WriteAll(out + ".avsc.jsonl", r.out);
      auto avsc = test_util::ReadJsonLines(out + ".avsc.jsonl");
      ASSERT_EQ(avsc.size(), 1001u) << r.out.substr(0, 500);
      EXPECT_EQ(avsc[0]["codec"], AvroCodecName(codec));
      EXPECT_EQ(avsc[0]["meta"]["lakepack.sources"], "[\"raw/a.avro\"]");
      ASSERT_TRUE(AvroToJsonLines(out, out + ".jsonl").ok());
      auto ours = test_util::ReadJsonLines(out + ".jsonl");
      ASSERT_EQ(ours.size(), 1000u);
      for (size_t i = 0; i < ours.size(); ++i) ASSERT_EQ(avsc[i + 1], ours[i]) << out << " " << i;
    }
  }
  // And it is a real check: a flipped byte is an error there too.
  std::string bytes = test_util::ReadAll(d / "a.avro");
  bytes[bytes.size() - 30] ^= 0x10;
  test_util::WriteAll(d / "bad.avro", bytes);
  EXPECT_EQ(e2e::Run({"node", script, d / "bad.avro"}).exit_code, 1);
}

}  // namespace
}  // namespace lakepack::e2e
