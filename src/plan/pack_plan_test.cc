// Unit tests of pack's planning pieces: provenance slicing and removal, the packed-input index
// and the manifest cache.
#include "plan/pack_plan.h"

#include <gtest/gtest.h>

namespace lakepack {
namespace {

ProvenanceSegment Seg(const std::string& uri, const std::string& etag, int64_t first, int64_t rows,
                      bool consumed = false) {
  return {uri, etag, 100, first, rows, consumed};
}

TEST(Provenance, SliceCutsSegmentsAtTheRangeEnds) {
  Provenance stream = {Seg("a", "1", 0, 10), Seg("b", "2", 0, 5), Seg("c", "3", 0, 20)};
  Provenance p = SliceProvenance(stream, 8, 10);  // rows 8..17: a[8,10) b[0,5) c[0,3)
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], Seg("a", "1", 8, 2));
  EXPECT_EQ(p[1], Seg("b", "2", 0, 5));
  EXPECT_EQ(p[2], Seg("c", "3", 0, 3));
  EXPECT_EQ(ProvenanceRows(p), 10);
  EXPECT_TRUE(SliceProvenance(stream, 35, 5).empty());
  // A segment that starts mid-input keeps its offset.
  Provenance q = SliceProvenance({Seg("a", "1", 40, 10)}, 3, 4);
  EXPECT_EQ(q, (Provenance{Seg("a", "1", 43, 4)}));
}

TEST(Provenance, RemoveSegmentsGivesTheRowRangesThatRemain) {
  Provenance p = {Seg("a", "1", 0, 10), Seg("b", "2", 0, 5), Seg("c", "3", 0, 20),
                  Seg("b", "2", 5, 1)};
  auto version = [](const std::string& uri, const std::string& etag) {
    return [=](const ProvenanceSegment& g) { return g.uri == uri && g.etag == etag; };
  };
  std::vector<std::pair<int64_t, int64_t>> kept;
  Provenance left = RemoveSegments(p, version("b", "2"), &kept);
  EXPECT_EQ(left, (Provenance{Seg("a", "1", 0, 10), Seg("c", "3", 0, 20)}));
  EXPECT_EQ(kept, (std::vector<std::pair<int64_t, int64_t>>{{0, 10}, {15, 20}}));
  // Another version of the same input is not removed.
  std::vector<std::pair<int64_t, int64_t>> all;
  EXPECT_EQ(RemoveSegments(p, version("b", "9"), &all), p);
  EXPECT_EQ(all, (std::vector<std::pair<int64_t, int64_t>>{{0, 36}}));
}

TEST(Provenance, JsonRoundTripsAndRejectsGarbage) {
  Provenance p = {Seg("s3://b/T/a.csv", "\"e1\"", 0, 7, true), Seg("", "", 0, 3)};
  auto back = ProvenanceFromJson(ProvenanceToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, p);
  EXPECT_FALSE(ProvenanceFromJson("{").ok());
  EXPECT_FALSE(ProvenanceFromJson(R"({"inputs":[{"uri":"a"}]})").ok());
  EXPECT_FALSE(
      ProvenanceFromJson(R"({"inputs":[{"uri":"a","etag":"x","size":1,"first":0,"rows":-4}]})")
          .ok());
}

TEST(PackedIndex, ClassifiesPackedChangedAndNew) {
  PackedIndex index;
  index.Add("T/T_0.parquet", {Seg("a", "1", 0, 10), Seg("d", "4", 0, 1, true)});
  index.Add("T/T_1.parquet", {Seg("a", "1", 10, 5), Seg("b", "2", 0, 5)});
  index.AddLegacy("old", "7");
  EXPECT_EQ(index.Classify("a", "1").state, InputState::kPacked);
  InputVerdict v = index.Classify("b", "3");
  EXPECT_EQ(v.state, InputState::kChanged);
  EXPECT_EQ(v.output, "T/T_1.parquet");
  EXPECT_EQ(v.etag, "2");
  EXPECT_EQ(index.Classify("c", "1").state, InputState::kNew);
  // Packed with --delete-inputs: a new object at that key is new.
  EXPECT_EQ(index.Classify("d", "5").state, InputState::kNew);
  EXPECT_EQ(index.Classify("d", "4").state, InputState::kPacked);
  // Version 1 manifests cannot say whether the input was deleted: a change, the safe reading.
  EXPECT_EQ(index.Classify("old", "8").state, InputState::kChanged);
}

TEST(PackManifest, FindsEntriesByEtagOrBySizeAndReadsVersionOne) {
  PackManifest m;
  m.outputs.push_back({"T/T_0.csv", "", 123, {Seg("a", "1", 0, 3)}});
  m.outputs.push_back({"T/T_1.parquet", "e1", 456, {}});
  auto back = PackManifestFromJson(PackManifestToJson(m));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ObjectInfo csv{"T/T_0.csv", 123, "zz"};
  EXPECT_NE(back->Find(csv, true), nullptr);
  EXPECT_EQ(back->Find(csv, false), nullptr) << "an entry without an ETag never matches one";
  EXPECT_NE(back->Find(ObjectInfo{"T/T_1.parquet", 1, "e1"}, false), nullptr);
  EXPECT_EQ(back->Find(ObjectInfo{"T/T_1.parquet", 456, "e2"}, false), nullptr);
  auto v1 = PackManifestFromJson(R"({"version":1,"packed":[{"uri":"u","etag":"e"}]})");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->legacy.size(), 1u);
}

}  // namespace
}  // namespace lakepack

namespace lakepack {
namespace {

TEST(CutRowGroups, CutsCloseToTheTargetOrNotAtAll) {
  // Ten groups of 100 bytes, target 300: three outputs of three groups and a last of one.
  std::vector<int64_t> bytes(10, 100), rows(10, 7);
  auto cuts = CutRowGroups(bytes, rows, 300, 0.04, 0, 0, 0);
  ASSERT_TRUE(cuts);
  EXPECT_EQ(*cuts, (std::vector<std::pair<size_t, size_t>>{{0, 3}, {3, 3}, {6, 3}, {9, 1}}));
  // Groups of 100 for a target of 250: never within 4%.
  EXPECT_FALSE(CutRowGroups(bytes, rows, 250, 0.04, 0, 0, 0));
  // The first output holds at least the topped-up rows, here four groups' worth.
  cuts = CutRowGroups(bytes, rows, 400, 0.04, 22, 0, 0);
  ASSERT_TRUE(cuts);
  EXPECT_EQ(cuts->front(), (std::pair<size_t, size_t>{0, 4}));
  // Overheads count: 3 groups and 8 bytes are within 4% of 300, 3 groups and 20 bytes not
  // (nor 2 groups and 16 bytes).
  cuts = CutRowGroups(bytes, rows, 300, 0.04, 0, 2, 2);
  ASSERT_TRUE(cuts);
  EXPECT_EQ(cuts->front().second, 3u);
  EXPECT_FALSE(CutRowGroups(bytes, rows, 300, 0.04, 0, 8, 4));
  // A last output above the target by more than the tolerance cannot be.
  EXPECT_FALSE(CutRowGroups({100, 500}, {1, 1}, 100, 0.04, 0, 0, 0));
}

}  // namespace
}  // namespace lakepack
