// Helpers of the repartition e2e and crash tests (tests/e2e/repartition_test.cc,
// repartition_crash_test.cc): a synthetic SiteWise cold tier (tests/repartition/cold_tier_gen.py)
// put into a source lake and kept as a local mirror, and the records of Avro files as two
// independent readers see them (python3-avro: tests/repartition/read_records.py; avsc:
// tests/xread/avro_records.mjs), as sorted canonical lines.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "e2e/lake.h"

namespace lakepack::e2e {

//! A day of the cold tier: "startYear=2023/startMonth=1/startDay=7/" (unpadded).
struct ColdDay {
  int year = 2023, month = 1, day = 7;
  std::string Partition() const;
  std::string RawPrefix() const { return "raw/" + Partition(); }
  std::string DayFile() const { return Partition() + "merged.avro"; }
  std::string IndexFile() const { return Partition() + "timeseries.txt"; }
};

//! Runs cold_tier_gen.py DIR ARGS... (with Debian's python3); a failure is a test failure.
void GenColdTier(const std::string& dir, const std::vector<std::string>& args);

//! The records of local Avro files, one canonical line each, sorted (a multiset). reader is
//! "python" (python3-avro) or "avsc". A reader that fails is a test failure (and `error` set).
std::vector<std::string> AvroRecords(const std::vector<std::string>& files,
                                     const std::string& reader, std::string* error = nullptr);

//! "" when the multisets are equal, else how they differ (counts and a few lines of each side).
std::string MultisetDiff(const std::vector<std::string>& got, const std::vector<std::string>& want);

//! The series ids (field 0) of canonical record lines, sorted and unique.
std::vector<std::string> SeriesOf(const std::vector<std::string>& records);

//! A source lake (the cold tier) with a local mirror of every object put into it.
class ColdTier {
 public:
  ColdTier(const std::string& backend, const std::string& name);
  TestLake& lake() { return *lake_; }
  const std::string& uri() const { return lake_->uri(); }
  const std::string& mirror() const { return mirror_.path(); }
  //! Generates with `args` into a fresh directory, puts it into the lake and the mirror.
  void Add(const std::vector<std::string>& args);
  //! The mirror's raw files of `day` that fit the layout (raw_*.avro), sorted.
  std::vector<std::string> DayFiles(const ColdDay& day) const;

 private:
  std::unique_ptr<TestLake> lake_;
  ScratchDir mirror_;
  ScratchDir gen_;
  int adds_ = 0;
};

//! key -> ETag of every object of the lake (lakepack's own _lakepack/ objects included).
std::map<std::string, std::string> Etags(TestLake& lake);

//! The repartition command line for a source and destination.
std::vector<std::string> RepartitionArgs(const std::string& src, const std::string& dst,
                                         const std::string& start, const std::string& end,
                                         const std::vector<std::string>& more = {});

//! Checks one day of `dst` against the mirror's inputs for that day: merged.avro read by both
//! readers holds exactly the inputs' records (python3-avro on the inputs), and timeseries.txt
//! lists the inputs' series. `only_series` narrows the expected records (--series-list).
//! `readers`: "both" or "python" (the crash test's cheaper check).
void ExpectDay(TestLake& dst, const ColdTier& cold, const ColdDay& day,
               const std::set<std::string>* only_series = nullptr,
               const std::string& readers = "both");

//! The data keys of `dst` are exactly merged.avro and timeseries.txt of `days`.
void ExpectOnlyDays(TestLake& dst, const std::vector<ColdDay>& days);

}  // namespace lakepack::e2e
