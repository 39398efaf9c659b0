// Unit tests for the shared string helpers.
#include "common/strings.h"

#include <gtest/gtest.h>

namespace lakepack {
namespace {

TEST(StringsTest, LowerBaseNameRootName) {
  EXPECT_EQ(Lower("Snappy.PARQUET"), "snappy.parquet");
  EXPECT_EQ(BaseName("a/b/c.csv"), "c.csv");
  EXPECT_EQ(BaseName("c.csv"), "c.csv");
  EXPECT_EQ(BaseName("a/b/"), "");
  EXPECT_EQ(RootName("s3://b/u/db/t"), "t");
  EXPECT_EQ(RootName("s3://b/u/db/t//"), "t");
  EXPECT_EQ(RootName("/data/lake/"), "lake");
  EXPECT_EQ(RootName("lake"), "lake");
}

TEST(StringsTest, ShowPathAsRewritesEveryOccurrence) {
  EXPECT_EQ(ShowPathAs("/spool/in0-a.csv: line 2: bad", "/spool/in0-a.csv", "s3://b/a.csv"),
            "s3://b/a.csv: line 2: bad");
  EXPECT_EQ(ShowPathAs("x: reading '/s/f' and /s/f", "/s/f", "s3://b/f"),
            "x: reading 's3://b/f' and s3://b/f");
  // A shown name that holds the local path does not loop.
  EXPECT_EQ(ShowPathAs("/d/x: bad", "/d/x", "file:///d/x"), "file:///d/x: bad");
  EXPECT_EQ(ShowPathAs("no path here", "/d/x", "u"), "no path here");
  EXPECT_EQ(ShowPathAs("/d/x", "", "u"), "/d/x");
  Status st = ShowPathAs(Status::Corruption("/t/f.parquet: cut"), "/t/f.parquet", "s3://b/k");
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(), "s3://b/k: cut");
  EXPECT_TRUE(ShowPathAs(Status::OK(), "/t", "u").ok());
}

}  // namespace
}  // namespace lakepack
