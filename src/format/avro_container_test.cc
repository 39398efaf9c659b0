// Unit tests of lakepack's Avro container layer: header, blocks, codecs, corruption, sync
// markers, the Parsing Canonical Form.
#include "format/avro_container.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "unit/avro_raw_datum.h"
#include "unit/scratch_dir.h"

namespace lakepack {
namespace {

using test_util::EncodeDatum;
using test_util::kRawDatumSchema;
using test_util::ReadAll;
using test_util::SampleDatum;
using test_util::ScratchDir;
using test_util::WriteAll;
using test_util::WriteSampleAvro;

// Every block of `path`, or the first error.
Result<std::vector<AvroBlock>> AllBlocks(const std::string& path) {
  LP_ASSIGN_OR_RETURN(auto r, AvroBlockReader::Open(path));
  std::vector<AvroBlock> out;
  for (;;) {
    AvroBlock b;
    LP_ASSIGN_OR_RETURN(bool more, r->Next(&b));
    if (!more) return out;
    out.push_back(std::move(b));
  }
}

class AvroContainerCodecs : public ::testing::TestWithParam<AvroCodec> {};

TEST_P(AvroContainerCodecs, WriteThenReadBlocks) {
  ScratchDir dir;
  const std::string path = dir.path() + "/a.avro";
  std::vector<std::string> encoded;
  {
    auto w = AvroContainerWriter::Create(path, kRawDatumSchema, GetParam(),
                                         {{"lakepack.sources", "[\"k1\"]"}, {"x", "y"}});
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    for (int b = 0; b < 3; ++b) {
      std::string rec;
      for (int i = 0; i < 10 + b; ++i) rec += EncodeDatum(SampleDatum(b * 100 + i));
      encoded.push_back(rec);
      ASSERT_TRUE((*w)->AppendRecords(10 + b, rec).ok());
    }
    EXPECT_EQ((*w)->records(), 33);
    ASSERT_TRUE((*w)->Finish().ok());
  }
  auto h = ReadAvroHeader(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->schema_json, kRawDatumSchema);
  EXPECT_EQ(h->codec, AvroCodecName(GetParam()));
  EXPECT_EQ(h->metadata, (AvroMetadata{{"lakepack.sources", "[\"k1\"]"}, {"x", "y"}}));
  EXPECT_EQ(h->file_size, static_cast<int64_t>(std::filesystem::file_size(path)));
  auto blocks = AllBlocks(path);
  ASSERT_TRUE(blocks.ok()) << blocks.status().ToString();
  ASSERT_EQ(blocks->size(), 3u);
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ((*blocks)[b].count, 10 + b);
    EXPECT_EQ((*blocks)[b].records(), encoded[b]);
  }
  EXPECT_EQ((*blocks)[0].offset, h->first_block_offset);
}

INSTANTIATE_TEST_SUITE_P(Codecs, AvroContainerCodecs,
                         ::testing::Values(AvroCodec::kNull, AvroCodec::kDeflate,
                                           AvroCodec::kSnappy));

TEST(AvroContainer, CopiedBlocksReadBackUnderTheNewSync) {
  ScratchDir dir;
  const std::string a = dir.path() + "/a.avro", b = dir.path() + "/b.avro";
  ASSERT_TRUE(WriteSampleAvro(a, AvroCodec::kSnappy, 0, 4, 25).ok());
  auto in = AllBlocks(a);
  ASSERT_TRUE(in.ok());
  auto w = AvroContainerWriter::Create(b, kRawDatumSchema, AvroCodec::kSnappy);
  ASSERT_TRUE(w.ok());
  for (const auto& blk : *in) ASSERT_TRUE((*w)->AppendBlock(blk.count, blk.payload).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  auto out = AllBlocks(b);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), in->size());
  for (size_t i = 0; i < in->size(); ++i) EXPECT_EQ((*out)[i].payload, (*in)[i].payload);
  EXPECT_NE(ReadAvroHeader(a)->sync, ReadAvroHeader(b)->sync);
}

TEST(AvroContainer, AbsentCodecIsNull) {
  ScratchDir dir;
  std::string f("Obj\x01", 4);
  AppendAvroLong(&f, 1);
  AppendAvroLong(&f, 11);
  f += "avro.schema";
  AppendAvroLong(&f, 6);
  f += "\"long\"";
  AppendAvroLong(&f, 0);
  const std::string sync(16, '\x07');
  f += sync;
  // One block of two longs (1, -1), uncompressed.
  AppendAvroLong(&f, 2);
  AppendAvroLong(&f, 2);
  f += std::string("\x02\x01", 2);
  f += sync;
  const std::string path = dir.File("x.avro", f);
  auto h = ReadAvroHeader(path);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->codec, "null");
  EXPECT_TRUE(h->metadata.empty());
  auto blocks = AllBlocks(path);
  ASSERT_TRUE(blocks.ok()) << blocks.status().ToString();
  ASSERT_EQ(blocks->size(), 1u);
  EXPECT_EQ((*blocks)[0].count, 2);
}

TEST(AvroContainer, HeaderFromTheFirstBytesOfAFile) {
  ScratchDir dir;
  const std::string path = dir.path() + "/h.avro";
  const std::string sources(100000, 'k');  // a header larger than one first read
  ASSERT_TRUE(
      WriteSampleAvro(path, AvroCodec::kSnappy, 0, 1, 3, false, {{"lakepack.sources", sources}})
          .ok());
  const std::string bytes = ReadAll(path);
  const int64_t size = static_cast<int64_t>(bytes.size());
  auto part = ParseAvroHeader(std::string_view(bytes).substr(0, 65536), "s3://b/h.avro", size);
  ASSERT_TRUE(part.ok()) << part.status().ToString();
  EXPECT_FALSE(part->has_value());
  auto whole = ParseAvroHeader(bytes, "s3://b/h.avro", size);
  ASSERT_TRUE(whole.ok() && whole->has_value());
  EXPECT_EQ((**whole).metadata, (AvroMetadata{{"lakepack.sources", sources}}));
  EXPECT_EQ((**whole).sync, ReadAvroHeader(path)->sync);
  auto cut = ParseAvroHeader(std::string_view(bytes).substr(0, 1000), "s3://b/h.avro", 1000);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().message(),
            "s3://b/h.avro: truncated Avro header: the file ends at byte 1000");
}

TEST(AvroContainer, NotAvroAndShortHeaders) {
  ScratchDir dir;
  auto not_avro = ReadAvroHeader(dir.File("p.avro", "PAR1 not avro at all"));
  ASSERT_FALSE(not_avro.ok());
  EXPECT_EQ(not_avro.status().code(), StatusCode::kCorruption);
  EXPECT_NE(not_avro.status().message().find(dir.path() + "/p.avro: not an Avro file"),
            std::string::npos)
      << not_avro.status().message();
  auto tiny = ReadAvroHeader(dir.File("t.avro", "Ob"));
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.status().code(), StatusCode::kCorruption);
  auto missing = ReadAvroHeader(dir.path() + "/none.avro");
  EXPECT_TRUE(missing.status().IsNotFound());
}

TEST(AvroContainer, EveryTruncationIsCorruptionNamingThePath) {
  ScratchDir dir;
  const std::string good = dir.path() + "/good.avro";
  ASSERT_TRUE(WriteSampleAvro(good, AvroCodec::kSnappy, 0, 3, 20).ok());
  const std::string bytes = ReadAll(good);
  auto blocks = AllBlocks(good);
  ASSERT_TRUE(blocks.ok());
  std::set<size_t> ends;  // a cut right after a block's sync marker is a shorter valid file
  for (size_t i = 1; i < blocks->size(); ++i) ends.insert((*blocks)[i].offset);
  const std::string cut = dir.path() + "/cut.avro";
  for (size_t n = 0; n < bytes.size(); ++n) {
    WriteAll(cut, bytes.substr(0, n));
    auto r = AllBlocks(cut);
    const int64_t first = ReadAvroHeader(good)->first_block_offset;
    if (static_cast<int64_t>(n) == first || ends.count(n)) {
      EXPECT_TRUE(r.ok()) << n << ": " << r.status().ToString();
      continue;
    }
    ASSERT_FALSE(r.ok()) << "cut at " << n;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    EXPECT_EQ(r.status().message().rfind(cut + ": ", 0), 0u) << r.status().message();
  }
}

TEST(AvroContainer, FlippedByteInSnappyBlockFailsWithPathAndOffset) {
  ScratchDir dir;
  const std::string path = dir.path() + "/f.avro";
  ASSERT_TRUE(WriteSampleAvro(path, AvroCodec::kSnappy, 0, 2, 50).ok());
  auto blocks = AllBlocks(path);
  ASSERT_TRUE(blocks.ok());
  const AvroBlock& second = (*blocks)[1];
  std::string bytes = ReadAll(path);
  // Every byte of the second block's payload: flipped, the block must not verify.
  const size_t payload_at = bytes.size() - 16 - second.payload.size();
  for (size_t k = 0; k < second.payload.size(); ++k) {
    std::string bad = bytes;
    bad[payload_at + k] ^= 0x20;
    WriteAll(path, bad);
    auto r = AllBlocks(path);
    ASSERT_FALSE(r.ok()) << "flip at payload byte " << k;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    EXPECT_EQ(r.status().message().rfind(
                  path + ": block at byte " + std::to_string(second.offset) + ": ", 0),
              0u)
        << r.status().message();
  }
}

TEST(AvroContainer, WrongSyncMarkerIsCorruption) {
  ScratchDir dir;
  const std::string path = dir.path() + "/s.avro";
  ASSERT_TRUE(WriteSampleAvro(path, AvroCodec::kNull, 0, 2, 5).ok());
  std::string bytes = ReadAll(path);
  bytes[bytes.size() - 3] ^= 1;  // inside the last block's sync marker
  WriteAll(path, bytes);
  auto r = AllBlocks(path);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_NE(r.status().message().find("sync marker"), std::string::npos) << r.status().message();
}

TEST(AvroContainer, FilesWrittenInTheSameSecondHaveDifferentSyncMarkers) {
  ScratchDir dir;
  std::set<AvroSync> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string p = dir.path() + "/" + std::to_string(i) + ".avro";
    ASSERT_TRUE(WriteSampleAvro(p, AvroCodec::kNull, 0, 1, 1).ok());
    seen.insert(ReadAvroHeader(p)->sync);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(AvroContainer, WriterIsCreateOnlyAndCleansUp) {
  ScratchDir dir;
  const std::string path = dir.File("exists.avro", "x");
  auto w = AvroContainerWriter::Create(path, kRawDatumSchema, AvroCodec::kNull);
  ASSERT_FALSE(w.ok());
  EXPECT_TRUE(w.status().IsAlreadyExists()) << w.status().ToString();
  EXPECT_EQ(ReadAll(path), "x");
  const std::string fresh = dir.path() + "/fresh.avro";
  {
    auto w2 = AvroContainerWriter::Create(fresh, kRawDatumSchema, AvroCodec::kNull);
    ASSERT_TRUE(w2.ok());
    ASSERT_TRUE((*w2)->AppendRecords(1, EncodeDatum(SampleDatum(1))).ok());
    // Destroyed unfinished: the file goes.
  }
  EXPECT_FALSE(std::filesystem::exists(fresh));
  auto reserved = AvroContainerWriter::Create(fresh, kRawDatumSchema, AvroCodec::kNull,
                                              {{"avro.codec", "snappy"}});
  ASSERT_FALSE(reserved.ok());
  EXPECT_EQ(reserved.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(std::filesystem::exists(fresh));
}

TEST(AvroContainer, UnsupportedCodecIsNamed) {
  ScratchDir dir;
  std::string f("Obj\x01", 4);
  AppendAvroLong(&f, 2);
  for (auto [k, v] : {std::pair<std::string, std::string>{"avro.schema", "\"long\""},
                      {"avro.codec", "zstandard"}}) {
    AppendAvroLong(&f, static_cast<int64_t>(k.size()));
    f += k;
    AppendAvroLong(&f, static_cast<int64_t>(v.size()));
    f += v;
  }
  AppendAvroLong(&f, 0);
  f += std::string(16, 'z');
  const std::string path = dir.File("z.avro", f);
  EXPECT_EQ(ReadAvroHeader(path)->codec, "zstandard");
  auto r = AvroBlockReader::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos);
  EXPECT_NE(r.status().message().find("zstandard"), std::string::npos);
}

TEST(AvroCanonical, RawDatum) {
  auto c = CanonicalSchema(kRawDatumSchema);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, R"({"name":"amazon.aws.iot.sitewise.raw.RawDatum","type":"record","fields":[)"
                R"({"name":"seriesId","type":"string"},{"name":"timeInSeconds","type":"long"},)"
                R"({"name":"offsetInNanos","type":"long"},{"name":"quality","type":"string"},)"
                R"({"name":"doubleValue","type":["null","double"]},)"
                R"({"name":"stringValue","type":["null","string"]},)"
                R"({"name":"integerValue","type":["null","int"]},)"
                R"({"name":"booleanValue","type":["null","boolean"]},)"
                R"({"name":"jsonValue","type":["null","string"]},)"
                R"({"name":"recordVersion","type":["null","long"]}]})");
}

TEST(AvroCanonical, IgnoresWhatDoesNotChangeTheEncoding) {
  const std::string a =
      R"({"type":"record","name":"R","namespace":"n","doc":"x","fields":[
          {"name":"a","type":{"type":"int"},"default":0,"doc":"y"},
          {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"],"aliases":["F"]}},
          {"name":"e2","type":"E"},
          {"name":"f","type":{"type":"fixed","name":"m.F","size":4}},
          {"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},
          {"name":"m","type":{"type":"map","values":{"type":"array","items":"string"}}}]})";
  const std::string b =
      R"({ "fields" : [ {"type":"int","name":"a"},
          {"name":"e","type":{"symbols":["A","B"],"name":"n.E","type":"enum"}},
          {"name":"e2","type":"n.E"},
          {"name":"f","type":{"type":"fixed","name":"F","namespace":"m","size":4}},
          {"name":"t","type":"long"},
          {"name":"m","type":{"values":{"items":"string","type":"array"},"type":"map"}}],
          "name" : "n.R", "type" : "record" })";
  auto ca = CanonicalSchema(a), cb = CanonicalSchema(b);
  ASSERT_TRUE(ca.ok()) << ca.status().ToString();
  ASSERT_TRUE(cb.ok()) << cb.status().ToString();
  EXPECT_EQ(*ca, *cb);
  EXPECT_EQ(*ca, R"({"name":"n.R","type":"record","fields":[{"name":"a","type":"int"},)"
                 R"({"name":"e","type":{"name":"n.E","type":"enum","symbols":["A","B"]}},)"
                 R"({"name":"e2","type":"n.E"},{"name":"f","type":{"name":"m.F","type":"fixed",)"
                 R"("size":4}},{"name":"t","type":"long"},{"name":"m","type":{"type":"map",)"
                 R"("values":{"type":"array","items":"string"}}}]})");
  // Order of fields and a field's type do change the encoding.
  EXPECT_NE(*CanonicalSchema(test_util::kRawDatumV2Schema), *CanonicalSchema(kRawDatumSchema));
  EXPECT_EQ(*CanonicalSchema(R"({"type":"string"})"), R"("string")");
  EXPECT_FALSE(CanonicalSchema("{not json").ok());
  EXPECT_FALSE(CanonicalSchema(R"({"type":"record","fields":[]})").ok());
}

TEST(AvroFields, RawDatumColumns) {
  auto f = AvroRecordFields(kRawDatumSchema);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 10u);
  EXPECT_EQ((*f)[0].name, "seriesId");
  EXPECT_EQ((*f)[0].engine_type, "VARCHAR");
  EXPECT_EQ((*f)[1].engine_type, "BIGINT");
  EXPECT_EQ((*f)[4].name, "doubleValue");
  EXPECT_EQ((*f)[4].avro_type, R"(["null","double"])");
  EXPECT_EQ((*f)[4].engine_type, "DOUBLE");
  EXPECT_EQ((*f)[6].engine_type, "INTEGER");
  EXPECT_EQ((*f)[7].engine_type, "BOOLEAN");
  auto plain = AvroRecordFields(R"("long")");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ((*plain)[0].name, "value");
}

}  // namespace
}  // namespace lakepack
