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
TEST(NameOnceTest, LaterQuotingsOfTheSubjectGo) {
  EXPECT_EQ(NameOnce("/t/x.csv: cannot write output (Could not write file \"/t/x.csv\": File too "
                     "large)"),
            "/t/x.csv: cannot write output (Could not write the file: File too large)");
  EXPECT_EQ(NameOnce("s3://b/out.parquet: s3://b/in.parquet: not a Parquet file or truncated (No "
                     "magic bytes found at end of file 's3://b/in.parquet')"),
            "s3://b/out.parquet: s3://b/in.parquet: not a Parquet file or truncated (No magic "
            "bytes found at end of the file)");
  EXPECT_EQ(NameOnce("/t/b.parquet: not a Parquet file or truncated (File '/t/b.parquet' too small "
                     "to be a Parquet file)"),
            "/t/b.parquet: not a Parquet file or truncated (too small to be a Parquet file)");
  // Another path, or the subject unquoted inside a longer path, stays.
  EXPECT_EQ(NameOnce("s3://b/k: lease: create directory /t/_lakepack: Permission denied"),
            "s3://b/k: lease: create directory /t/_lakepack: Permission denied");
  EXPECT_EQ(NameOnce("no subject here"), "no subject here");
}

}  // namespace lakepack
