// Helpers of the repartition tests (see repartition_util.h).
#include "e2e/repartition_util.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

namespace lakepack::e2e {

namespace fs = std::filesystem;

namespace {
const std::string kPython = "/usr/bin/python3";  // Debian's, with python3-avro
std::string SourcePath(const std::string& rel) {
  return std::string(LAKEPACK_SOURCE_DIR) + "/" + rel;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}
}  // namespace

std::string ColdDay::Partition() const {
  return fmt::format("startYear={}/startMonth={}/startDay={}/", year, month, day);
}

void GenColdTier(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kPython, SourcePath("tests/repartition/cold_tier_gen.py"), dir};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = Run(argv);
  ASSERT_EQ(r.exit_code, 0) << r.All();
}

std::vector<std::string> AvroRecords(const std::vector<std::string>& files,
                                     const std::string& reader, std::string* error) {
  if (files.empty()) return {};
  std::vector<std::string> argv;
  if (reader == "python") {
    argv = {kPython, SourcePath("tests/repartition/read_records.py")};
  } else {
    argv = {"node", SourcePath("tests/xread/avro_records.mjs")};
  }
  argv.insert(argv.end(), files.begin(), files.end());
  auto r = Run(argv);
  if (r.exit_code != 0) {
    if (error) *error = reader + ": " + r.err;
    ADD_FAILURE() << reader << " could not read the files: " << r.err;
    return {};
  }
  auto lines = Lines(r.out);
  std::sort(lines.begin(), lines.end());
  return lines;
}

std::string MultisetDiff(const std::vector<std::string>& got,
                         const std::vector<std::string>& want) {
  if (got == want) return "";
  std::vector<std::string> extra, missing;
  std::set_difference(got.begin(), got.end(), want.begin(), want.end(), std::back_inserter(extra));
  std::set_difference(want.begin(), want.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::string s = fmt::format("{} record(s) read, {} expected; {} too many, {} missing", got.size(),
                              want.size(), extra.size(), missing.size());
  for (size_t i = 0; i < std::min<size_t>(3, extra.size()); i++) s += "\n  extra:   " + extra[i];
  for (size_t i = 0; i < std::min<size_t>(3, missing.size()); i++) {
    s += "\n  missing: " + missing[i];
  }
  return s;
}

std::vector<std::string> SeriesOf(const std::vector<std::string>& records) {
  std::set<std::string> ids;
  for (const auto& line : records) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_array() && !j.empty() && j[0].is_string()) ids.insert(j[0].get<std::string>());
  }
  return {ids.begin(), ids.end()};
}

ColdTier::ColdTier(const std::string& backend, const std::string& name)
    : lake_(TestLake::Open(backend, name)) {}

void ColdTier::Add(const std::vector<std::string>& args) {
  const std::string dir = gen_ / std::to_string(adds_++);
  GenColdTier(dir, args);
  lake_->PutTree(dir);
  fs::copy(dir, mirror_.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

std::vector<std::string> ColdTier::DayFiles(const ColdDay& day) const {
  std::vector<std::string> files;
  const std::string dir = mirror_ / day.RawPrefix();
  if (!fs::exists(dir)) return files;
  for (const auto& f : ListFiles(dir)) {
    const std::string name = fs::path(f).filename().string();
    if (name.rfind("raw_", 0) == 0 && name.size() > 5 &&
        name.compare(name.size() - 5, 5, ".avro") == 0 &&
        std::count(name.begin(), name.end(), '_') >= 3) {
      files.push_back(dir + f);
    }
  }
  return files;
}

std::map<std::string, std::string> Etags(TestLake& lake) {
  std::map<std::string, std::string> m;
  auto all = lake.store().ListAll("");
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (all.ok()) {
    for (const auto& o : *all) m[o.key] = o.etag;
  }
  return m;
}

std::vector<std::string> RepartitionArgs(const std::string& src, const std::string& dst,
                                         const std::string& start, const std::string& end,
                                         const std::vector<std::string>& more) {
  std::vector<std::string> a = {"repartition", src, dst, "--start", start, "--end", end};
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

void ExpectDay(TestLake& dst, const ColdTier& cold, const ColdDay& day,
               const std::set<std::string>* only_series, const std::string& readers) {
  SCOPED_TRACE(dst.backend() + " " + day.Partition());
  std::vector<std::string> want = AvroRecords(cold.DayFiles(day), "python");
  if (only_series) {
    std::vector<std::string> kept;
    for (const auto& line : want) {
      auto j = nlohmann::json::parse(line);
      if (only_series->count(j[0].get<std::string>())) kept.push_back(line);
    }
    want = std::move(kept);
  }
  ASSERT_FALSE(want.empty()) << "no input records for the day";
  const std::string merged = dst.Fetch(day.DayFile());
  for (const std::string reader : {"python", "avsc"}) {
    if (readers != "both" && reader != readers) continue;
    auto got = AvroRecords({merged}, reader);
    EXPECT_EQ(MultisetDiff(got, want), "") << reader << " reading " << day.DayFile();
  }
  std::string index;
  for (const auto& s : SeriesOf(want)) index += s + "\n";
  EXPECT_EQ(ReadFile(dst.Fetch(day.IndexFile())), index) << day.IndexFile();
}

void ExpectOnlyDays(TestLake& dst, const std::vector<ColdDay>& days) {
  std::vector<std::string> want;
  for (const auto& d : days) {
    want.push_back(d.DayFile());
    want.push_back(d.IndexFile());
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(dst.DataKeys(), want);
}

}  // namespace lakepack::e2e
