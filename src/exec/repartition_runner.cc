// RepartitionJob (lakepack repartition, docs/repartition.md): one task per day of the range
// that has raw objects its day file has not merged. The task's one output is the day file,
// written once to its key (create-only, or If-Match on the day file it replaces); the list of
// merged sources travels inside it (the Avro header's lakepack.sources), so data and index are
// one object and one commit; timeseries.txt is the task's ledger document, derived from it.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "common/parallel.h"
#include "common/strings.h"
#include "exec/job.h"
#include "exec/jobs.h"
#include "format/avro_codec.h"
#include "format/avro_container.h"
#include "lakepack/repartition.h"
#include "plan/repartition_plan.h"

namespace lakepack {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Inputs staged at once: a day is thousands of small objects, so the downloads are bound by
// request latency; 16 is the S3 client's default bound on requests in flight (and the aws
// cli's max_concurrent_requests is 10 by default).
constexpr int kDownloadsAtOnce = 16;

// The seed writes a day as "2023-1-25".
std::string SeedDay(const Period& d) { return fmt::format("{}-{}-{}", d.year, d.month, d.day); }

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Every object under a day's raw prefix. The day is cut into its seriesBucket=XX/ folders
// (any folder, in fact: one delimiter listing gives them), which are listed at once, so that
// a day of many thousand files is not one long walk or a long chain of LIST pages.
Result<std::vector<ObjectInfo>> ListDay(ObjectStore& store, const std::string& prefix) {
  std::vector<ObjectInfo> all;
  std::vector<std::string> folders;
  ListOptions lo;
  lo.prefix = prefix;
  lo.delimiter = "/";
  for (;;) {
    LP_ASSIGN_OR_RETURN(ListPage page, store.List(lo));
    for (auto& o : page.objects) all.push_back(std::move(o));
    for (auto& f : page.common_prefixes) folders.push_back(std::move(f));
    if (page.next_token.empty()) break;
    lo.continuation_token = std::move(page.next_token);
  }
  std::vector<std::vector<ObjectInfo>> parts(folders.size());
  LP_RETURN_IF_ERROR(ParallelFor(folders.size(), kDownloadsAtOnce, [&](size_t i) -> Status {
    LP_ASSIGN_OR_RETURN(parts[i], store.ListAll(folders[i]));
    return Status::OK();
  }));
  for (auto& p : parts) {
    for (auto& o : p) all.push_back(std::move(o));
  }
  std::sort(all.begin(), all.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return all;
}

// The sources a day file lists, read from its header alone (a ranged, ETag-pinned read).
Result<std::vector<MergedSource>> ReadDaySources(ObjectStore& dst, const ObjectInfo& day,
                                                 Spool& spool) {
  const std::string local = spool.NewFile(".avro-header");
  int64_t want = std::min<int64_t>(day.size, 4 << 20);
  for (;;) {
    LP_ASSIGN_OR_RETURN(std::string bytes, dst.ReadPinned(day.key, day.etag, ByteRange{0, want}));
    {
      std::ofstream out(local, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    auto header = ReadAvroHeader(local);
    std::error_code ec;
    if (!header.ok() && want < day.size) {
      // The header is longer than the part read (a day of very many sources): read it all.
      want = day.size;
      continue;
    }
    fs::remove(local, ec);
    if (!header.ok()) return ShowPathAs(header.status(), local, dst.UriOf(day.key));
    for (const auto& [k, v] : header->metadata) {
      if (k == kSourcesMetadataKey) {
        auto sources = DecodeSources(v);
        if (!sources.ok()) return sources.status().WithContext(dst.UriOf(day.key));
        return sources;
      }
    }
    return Status::FailedPrecondition(fmt::format(
        "{}: a day file without {} in its header (not written by lakepack repartition); "
        "move it away or merge it by hand",
        dst.UriOf(day.key), kSourcesMetadataKey));
  }
}

class RepartitionJob final : public Job {
 public:
  RepartitionJob(const RepartitionOptions& o, Period start, Period end,
                 std::optional<std::set<std::string>> series, std::shared_ptr<ObjectStore> src,
                 std::shared_ptr<ObjectStore> dst, RepartitionResult& result)
      : o_(o),
        start_(start),
        end_(end),
        series_(std::move(series)),
        src_(std::move(src)),
        dst_(std::move(dst)),
        result_(result) {}

  std::string Name() const override { return "repartition"; }
  std::shared_ptr<ObjectStore> Destination() override { return dst_; }
  std::shared_ptr<ObjectStore> Source() override { return src_; }

  Result<Plan> MakePlan(int level, JobContext& ctx) override {
    (void)level;
    std::vector<Period> days;
    for (int64_t t = start_.StartSeconds(); t <= end_.StartSeconds(); t += 86400) {
      time_t tt = static_cast<time_t>(t);
      struct tm tm;
      gmtime_r(&tt, &tm);
      Period d;
      d.granularity = Granularity::kDay;
      d.year = tm.tm_year + 1900, d.month = tm.tm_mon + 1, d.day = tm.tm_mday;
      days.push_back(d);
    }
    // Each day lists its own prefix: the range decides what is listed, not the whole tier.
    std::vector<DayPlan> plans(days.size());
    std::vector<std::string> errors(days.size());
    auto statuses = ParallelForAll(days.size(), std::max(1, o_.parallel), [&](size_t i) -> Status {
      DayPlanInput in;
      in.day = days[i];
      in.series = series_ ? &*series_ : nullptr;
      LP_ASSIGN_OR_RETURN(in.listing, ListDay(*src_, RawDayPrefix(days[i])));
      const std::string out_key = DayPartition(days[i]) + std::string(kDayFileName);
      LP_ASSIGN_OR_RETURN(in.existing, dst_->Stat(out_key));
      if (in.existing) {
        auto merged = ReadDaySources(*dst_, *in.existing, ctx.spool);
        if (!merged.ok()) {
          errors[i] = merged.status().message();
        } else {
          in.merged = std::move(*merged);
        }
      }
      plans[i] = PlanDay(in);
      if (!errors[i].empty()) plans[i].error = errors[i];
      return Status::OK();
    });
    for (const auto& s : statuses) LP_RETURN_IF_ERROR(s);

    Plan plan;
    for (auto& p : plans) {
      const Period& d = p.day;
      result_.days_reviewed++;
      ctx.progress.Log(
          fmt::format("Reviewing --> year: {}, month: {}, day: {}", d.year, d.month, d.day));
      for (const auto& s : p.stray) {
        plan.stray.push_back(src_->UriOf(s));
      }
      if (p.filtered_out > 0) {
        ctx.progress.Log(fmt::format("        {} file(s) of series not in --series-list left out",
                                     p.filtered_out));
      }
      RepartitionDay day;
      day.day = SeedDay(d);
      day.output = dst_->UriOf(p.output_key);
      day.merges_existing = p.existing.has_value() && !p.rebuild;
      day.rebuild = p.rebuild;
      day.new_files = static_cast<int64_t>(p.inputs.size());
      day.new_series = p.new_series;
      day.series = static_cast<int64_t>(p.series.size());
      day.bytes = p.input_bytes;
      day.error = p.error;
      if (p.nothing_new()) {
        result_.days_unchanged++;
        ctx.progress.Log(
            fmt::format("        # of source files previously merged: {}", p.sources.size()));
        ctx.progress.Log("        Skip, no new data");
        continue;
      }
      if (p.error.empty()) {
        ctx.progress.Log(fmt::format(
            "        # of new source files: {} (# of new timeseries detected: {}){}",
            p.inputs.size(), p.new_series,
            p.rebuild ? fmt::format("; {} merged file(s) changed since: the day is rebuilt",
                                    p.changed.size())
                      : ""));
      } else {
        ctx.progress.Log("        cannot be repartitioned: " + p.error);
      }
      result_.days.push_back(day);
      Task t;
      t.command = "repartition";
      t.label = day.day;
      t.reads = p.inputs;
      t.outputs.push_back(TaskOutput{p.output_key, p.existing, -1});
      t.locks.push_back(p.output_key);
      t.shard_key = p.output_key;
      t.input_bytes = p.input_bytes;
      t.id = TaskId(t);
      {
        std::lock_guard<std::mutex> lock(mu_);
        days_[t.id] = std::move(p);
      }
      plan.tasks.push_back(std::move(t));
    }
    plan.stray_reason = "not a cold-tier raw file";
    return plan;
  }

  Result<BuildResult> Build(const Task& task, TaskContext& ctx) override {
    DayPlan p;
    {
      // Each task is built once: its plan moves out (a day's plan holds thousands of keys).
      std::lock_guard<std::mutex> lock(mu_);
      auto it = days_.find(task.id);
      p = std::move(it->second);
      days_.erase(it);
    }
    if (!p.error.empty()) return Status::FailedPrecondition(task.label + ": " + p.error);
    const auto t0 = Clock::now();
    // The day file first (its rows keep their place), then the new files in plan order.
    std::vector<ObjectInfo> objects;
    std::vector<ObjectStore*> stores;
    if (p.existing && !p.rebuild) {
      objects.push_back(*p.existing);
      stores.push_back(dst_.get());
    }
    for (const auto& in : p.inputs) {
      objects.push_back(in);
      stores.push_back(src_.get());
    }
    std::vector<AvroSource> sources(objects.size());
    LP_RETURN_IF_ERROR(ParallelFor(objects.size(), kDownloadsAtOnce, [&](size_t i) -> Status {
      LP_ASSIGN_OR_RETURN(sources[i].path, ctx.Stage(*stores[i], objects[i]));
      sources[i].display_name = stores[i]->UriOf(objects[i].key);
      return Status::OK();
    }));
    const double download_s = Since(t0);

    // The output's schema and codec are the day file's (or the first input's); an input whose
    // fields the output lacks would lose them, so that day fails instead.
    const auto t1 = Clock::now();
    auto first = ReadAvroHeader(sources[0].path);
    if (!first.ok()) return ShowPathAs(first.status(), sources[0].path, sources[0].display_name);
    LP_ASSIGN_OR_RETURN(AvroCodec codec, ParseAvroCodec(first->codec));
    AvroWriteSpec ws;
    ws.path = ctx.dir() + "/day.avro";
    ws.schema_json = first->schema_json;
    ws.codec = codec;
    ws.metadata = {{std::string(kSourcesMetadataKey), EncodeSources(p.sources)}};
    ws.keep_all_fields = true;
    ws.schema_source = sources[0].display_name;
    auto records = ConcatAvro(sources, ws);
    if (!records.ok()) {
      Status st = records.status();
      for (const auto& s : sources) st = ShowPathAs(st, s.path, s.display_name);
      return st;
    }
    const double merge_s = Since(t1);

    BuildResult r;
    LocalOutput lo;
    lo.key = p.output_key;
    lo.local_path = ws.path;
    lo.rows = *records;
    lo.replaces = p.existing;
    r.outputs.push_back(std::move(lo));
    std::string index;
    for (const auto& s : p.series) index += s + "\n";
    r.ledger.push_back(LedgerDoc{p.index_key, index});
    r.rows = *records;
    r.what = fmt::format("{} record(s) in the day file, {} new file(s) merged, {} series", *records,
                         p.inputs.size(), p.series.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      times_[task.id] = {download_s, merge_s, Clock::now()};
    }
    return r;
  }

  Status AfterCommit(const Task& task, const Transaction& txn) override {
    (void)txn;
    Times t;
    {
      std::lock_guard<std::mutex> lock(mu_);
      t = times_[task.id];
    }
    log_(
        fmt::format("{}: ** Download time: {:.0f} secs ** Merge Time: {:.0f} secs ** Upload "
                    "Time: {:.0f} secs **",
                    task.label, t.download_s, t.merge_s, Since(t.built)));
    return Status::OK();
  }

  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }

 private:
  struct Times {
    double download_s = 0, merge_s = 0;
    Clock::time_point built;
  };

  const RepartitionOptions o_;  // a copy: the job may outlive the options it was made from
  Period start_, end_;
  std::optional<std::set<std::string>> series_;
  std::shared_ptr<ObjectStore> src_, dst_;
  RepartitionResult& result_;
  std::mutex mu_;
  std::map<std::string, DayPlan> days_;
  std::map<std::string, Times> times_;
  std::function<void(const std::string&)> log_ = [](const std::string&) {};
};

}  // namespace

Result<RepartitionResult> Repartition(const RepartitionOptions& o, ProgressSink& progress) {
  auto start = ParseDay(o.start);
  if (!start.ok()) return start.status().WithContext("--start");
  auto end = ParseDay(o.end);
  if (!end.ok()) return end.status().WithContext("--end");
  if (*end < *start) return Status::InvalidArgument("--end is before --start");
  std::optional<std::set<std::string>> series;
  if (!o.series_list.empty()) {
    std::ifstream in(o.series_list, std::ios::binary);
    if (!in) return Status::InvalidArgument(o.series_list + ": cannot read the series list");
    std::stringstream ss;
    ss << in.rdbuf();
    LP_ASSIGN_OR_RETURN(series, ParseSeriesList(ss.str(), o.series_list));
  }
  LP_ASSIGN_OR_RETURN(auto src, OpenStoreFor(o.src, false));
  LP_ASSIGN_OR_RETURN(auto dst, OpenStoreFor(o.dst, true));
  RepartitionResult result;
  RepartitionJob job(o, *start, *end, std::move(series), std::move(src), std::move(dst), result);
  job.set_log([&progress](const std::string& line) { progress.Log(line); });
  RunOptions ro;
  ro.dry_run = o.dry_run;
  ro.parallel = o.parallel;
  ro.shard_index = o.shard.index;
  ro.shard_count = o.shard.count;
  ro.spool_dir = o.spool_dir;
  LP_ASSIGN_OR_RETURN(result.summary, RunJob(job, ro, progress));
  return result;
}

}  // namespace lakepack
