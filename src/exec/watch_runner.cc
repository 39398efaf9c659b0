// lakepack watch (exec/watch.h, docs/watch.md). Two halves:
// - WatchJob, a Job on the engine: one task per ready CSV, whose one output is its Parquet
//   (create-only, or If-Match on the object it replaces), tagged with the source's name and
//   MD5; after the commit point the object is read back (HEAD) and the checkpoint appended.
// - the loop: scans DIR (the truth), lets inotify only wake it up, decides which files have
//   settled, runs a RunJob over them, and keeps per-file state (retries, bad files).
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/crash_point.h"
#include "common/parallel.h"
#include "common/strings.h"
#include "exec/checkpoint.h"
#include "exec/job.h"
#include "exec/watch.h"
#include "lakepack/uri.h"
#include "store/s3/crypto.h"
#include "store/s3/sigv4.h"

namespace lakepack {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline constexpr std::string_view kSourceNameMeta = "lakepack-source-name";
inline constexpr std::string_view kSourceMd5Meta = "lakepack-source-md5";
inline constexpr std::string_view kRowsMeta = "lakepack-rows";

bool WatchIgnoresName(std::string_view name) {
  if (name.empty() || name[0] == '.' || name[0] == '~' || name.back() == '~') return true;
  std::string lower = Lower(name);
  for (std::string_view ext : {".tmp", ".part", ".filepart", ".crdownload", ".swp"}) {
    if (lower.size() >= ext.size() &&
        lower.compare(lower.size() - ext.size(), ext.size(), ext) == 0)
      return true;
  }
  return false;
}

std::string WatchOutputKey(const std::string& rel, FileFormat format) {
  std::string lower = Lower(rel);
  if (lower.size() < 5 || lower.compare(lower.size() - 4, 4, ".csv") != 0) return "";
  return rel.substr(0, rel.size() - 4) + (format == FileFormat::kJsonLines ? ".jsonl" : ".parquet");
}

namespace {

std::string NowIso() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> Md5OfFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError(fmt::format("{}: cannot open: {}", path, strerror(errno)));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IOError(path + ": cannot stat");
  }
  std::string md5;
  Status s = s3::DigestFileRange(fd, path, 0, st.st_size, &md5, nullptr);
  ::close(fd);
  LP_RETURN_IF_ERROR(s);
  return s3::HexEncode(md5);
}

// What one task did, for the loop (filled by the job, read after RunJob).
struct Outcome {
  enum Kind { kNone, kIngested, kUnchanged, kRecorded, kBad, kFailed } kind = kNone;
  std::string md5;
  int64_t rows = 0;
  int64_t bytes = 0;
  double seconds = 0;
  std::string object;
  std::string etag;
  bool replaced = false;
  std::string error;
  Clock::time_point started;
};

// One file the loop hands to a run.
struct Candidate {
  std::string rel;
  std::string key;  // in DST
};

// Called as each file is done (from worker threads), so that its log line comes at once.
using ReportFn = std::function<void(const std::string& rel, const Outcome&)>;

class WatchJob final : public Job {
 public:
  WatchJob(const WatchOptions& o, std::shared_ptr<ObjectStore> src,
           std::shared_ptr<ObjectStore> dst, Checkpoint& cp, std::vector<Candidate> candidates,
           ReportFn report)
      : o_(o),
        src_(std::move(src)),
        dst_(std::move(dst)),
        cp_(cp),
        candidates_(std::move(candidates)),
        report_(std::move(report)) {}

  std::string Name() const override { return "watch"; }
  std::shared_ptr<ObjectStore> Destination() override { return dst_; }
  std::shared_ptr<ObjectStore> Source() override { return src_; }

  Result<Plan> MakePlan(int level, JobContext& ctx) override {
    (void)level;
    std::vector<std::optional<Task>> tasks(candidates_.size());
    auto statuses = ParallelForAll(candidates_.size(), std::max(1, ctx.options.parallel),
                                   [&](size_t i) -> Status {
                                     const Candidate& c = candidates_[i];
                                     LP_ASSIGN_OR_RETURN(auto in, src_->Stat(c.rel));
                                     if (!in) return Status::OK();  // gone since the scan
                                     LP_ASSIGN_OR_RETURN(auto out, dst_->Stat(c.key));
                                     Task t;
                                     t.command = "watch";
                                     t.label = c.rel;
                                     t.reads.push_back(*in);
                                     t.outputs.push_back(TaskOutput{c.key, out, -1});
                                     t.locks.push_back(c.key);
                                     t.shard_key = c.key;
                                     t.input_bytes = in->size;
                                     t.id = TaskId(t);
                                     tasks[i] = std::move(t);
                                     return Status::OK();
                                   });
    for (size_t i = 0; i < statuses.size(); i++) {
      if (!statuses[i].ok()) return statuses[i];
    }
    Plan plan;
    for (auto& t : tasks) {
      if (t) plan.tasks.push_back(std::move(*t));
    }
    return plan;
  }

  Result<BuildResult> Build(const Task& task, TaskContext& ctx) override {
    const ObjectInfo& in = task.reads[0];
    const TaskOutput& out = task.outputs[0];
    Outcome& oc = OutcomeOf(task.label);
    oc.started = Clock::now();
    LP_ASSIGN_OR_RETURN(std::string path, ctx.Stage(*src_, in));
    LP_ASSIGN_OR_RETURN(std::string md5, Md5OfFile(path));
    oc.md5 = md5;
    BuildResult result;
    // The same name and MD5 is never uploaded twice (a copy dropped again, or a touch).
    auto known = cp_.Find(task.label);
    if (known && known->md5 == md5) {
      CheckpointEntry e = *known;
      e.size = in.size, e.mtime_ns = in.mtime_ns, e.time = NowIso();
      LP_RETURN_IF_ERROR(cp_.Append(e));
      oc.kind = Outcome::kUnchanged;
      oc.object = e.object;
      report_(task.label, oc);
      return result;
    }
    // Written by a run that died before its checkpoint line: recorded, not uploaded again.
    if (out.replaces && out.replaces->Metadata(kSourceMd5Meta) == md5) {
      // Its rows travel in its metadata (a Parquet footer would cost another read).
      int64_t rows = -1;
      const std::string rows_text = out.replaces->Metadata(kRowsMeta);
      if (!rows_text.empty()) rows = std::strtoll(rows_text.c_str(), nullptr, 10);
      CheckpointEntry e{task.label,         md5,  in.size, in.mtime_ns, dst_->UriOf(out.key),
                        out.replaces->etag, rows, NowIso()};
      oc.rows = rows;
      LP_RETURN_IF_ERROR(cp_.Append(e));
      CrashPoint("watch-checkpointed");
      oc.kind = Outcome::kRecorded;
      oc.object = e.object;
      oc.etag = e.etag;
      report_(task.label, oc);
      return result;
    }
    LP_ASSIGN_OR_RETURN(auto engine, FormatEngine::Open(EngineFor(ctx.dir())));
    WriteSpec ws;
    ws.path = ctx.dir() + "/out" + (o_.format == FileFormat::kJsonLines ? ".jsonl" : ".parquet");
    ws.format = o_.format;
    ws.compression = o_.compression;
    ws.metadata = {{"lakepack.source_name", task.label}, {"lakepack.source_md5", md5}};
    ReadSpec rs{{path}, FileFormat::kCsv};
    auto rows = engine->Copy(rs, ws);
    if (!rows.ok()) {
      // The CSV itself is bad: not retried until it changes.
      oc.kind = Outcome::kBad;
      return rows.status();
    }
    CrashPoint("watch-built");
    LocalOutput lo;
    lo.key = out.key;
    lo.local_path = ws.path;
    lo.rows = *rows;
    lo.replaces = out.replaces;
    lo.metadata = {{std::string(kSourceNameMeta), s3::UriEncode(task.label, true)},
                   {std::string(kSourceMd5Meta), md5},
                   {std::string(kRowsMeta), std::to_string(*rows)}};
    oc.rows = *rows;
    oc.replaced = out.replaces.has_value();
    result.rows = *rows;
    result.outputs.push_back(std::move(lo));
    return result;
  }

  Status AfterCommit(const Task& task, const Transaction& txn) override {
    Outcome& oc = OutcomeOf(task.label);
    if (txn.written().empty()) return Status::OK();
    const ObjectInfo& w = txn.written()[0];
    // The seed compares local and server checksums: the object as the server has it now must
    // be the one written, carrying the source's MD5.
    auto now = dst_->Stat(w.key);
    Status verified = now.status();
    if (verified.ok() && !*now) {
      verified = Status::IOError(dst_->UriOf(w.key) + ": not found just after it was written");
    } else if (verified.ok()) {
      const ObjectInfo& s = **now;
      if (s.size != w.size || s.etag != w.etag ||
          (dst_->Capabilities().tags && s.Metadata(kSourceMd5Meta) != oc.md5)) {
        verified = Status::Corruption(fmt::format(
            "{}: the server has size {} ETag {} source MD5 '{}'; written were size {} ETag {} "
            "source MD5 {}",
            dst_->UriOf(w.key), s.size, s.etag, s.Metadata(kSourceMd5Meta), w.size, w.etag,
            oc.md5));
      }
    }
    if (!verified.ok()) {
      oc.kind = Outcome::kFailed;
      oc.error = verified.message();
      return verified;
    }
    const ObjectInfo& in = task.reads[0];
    CheckpointEntry e{task.label,         oc.md5, in.size, in.mtime_ns,
                      dst_->UriOf(w.key), w.etag, oc.rows, NowIso()};
    Status st = cp_.Append(e);
    if (!st.ok()) {
      oc.kind = Outcome::kFailed;
      oc.error = st.message();
      return st;
    }
    CrashPoint("watch-checkpointed");
    oc.kind = Outcome::kIngested;
    oc.object = e.object;
    oc.etag = w.etag;
    oc.bytes = w.size;
    oc.seconds = std::chrono::duration<double>(Clock::now() - oc.started).count();
    report_(task.label, oc);
    return Status::OK();
  }

  void Failed(const Task& task, const Status& status) override {
    Outcome& oc = OutcomeOf(task.label);
    if (oc.kind != Outcome::kBad) oc.kind = Outcome::kFailed;
    oc.error = status.message();
  }

  std::map<std::string, Outcome> TakeOutcomes() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(outcomes_);
  }

 private:
  Outcome& OutcomeOf(const std::string& label) {
    std::lock_guard<std::mutex> lock(mu_);
    return outcomes_[label];  // std::map: references stay valid
  }

  EngineOptions EngineFor(const std::string& dir) const {
    EngineOptions eo = o_.engine;
    eo.temp_dir = dir + "/engine";
    if (eo.threads == 0) {
      // The workers share the cores.
      int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      eo.threads = std::max(1, cores / std::max(1, o_.workers));
    }
    return eo;
  }

  const WatchOptions& o_;
  std::shared_ptr<ObjectStore> src_;
  std::shared_ptr<ObjectStore> dst_;
  Checkpoint& cp_;
  std::vector<Candidate> candidates_;
  ReportFn report_;
  std::mutex mu_;
  std::map<std::string, Outcome> outcomes_;
};

// What a scan saw of one file.
struct Seen {
  int64_t size = -1;
  int64_t mtime_ns = -1;
  int64_t ctime_ns = -1;
  uint64_t ino = 0;
  bool operator==(const Seen&) const = default;
};

struct FileState {
  Seen seen;
  Clock::time_point since;  // when `seen` was first observed
  int scans_same = 0;       // scans in a row that saw `seen`
  bool renamed = false;     // inotify saw it arrive by rename since
  bool done = false;        // in the checkpoint as the last scan saw it
  enum { kWaiting, kBad, kFailed } status = kWaiting;
  int attempts = 0;
  Clock::time_point retry_at;
  std::string error;
};

// The engine's log lines: recovery is worth INFO, the rest the loop says itself.
class LoggerProgress final : public ProgressSink {
 public:
  explicit LoggerProgress(Logger& log) : log_(log) {}
  void Planned(int64_t, int64_t, int64_t) override {}
  void TaskDone(bool, int64_t, int64_t, int64_t) override {}
  void Log(const std::string& line) override {
    if (line.rfind("recovered", 0) == 0 || line.rfind("aborted", 0) == 0) {
      log_.Info(line);
    } else if (line.rfind("warning", 0) == 0) {
      log_.Warning(line);
    } else {
      log_.Debug(line);
    }
  }

 private:
  Logger& log_;
};

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

class Watcher {
 public:
  Watcher(const WatchOptions& o, Logger& log, const std::atomic<bool>& stop, int wake_fd)
      : o_(o), log_(log), stop_(stop), wake_fd_(wake_fd) {}
  ~Watcher() {
    if (inotify_fd_ >= 0) ::close(inotify_fd_);
    if (gate_fd_ >= 0) ::close(gate_fd_);
  }

  Result<int> Run();

 private:
  Status Open();
  void Scan();
  void RunBatch();
  void Report(const std::string& rel, const Outcome& o);
  void Fail(const std::string& rel, FileState& st, const std::string& error, bool bad);
  void AddWatch(const std::string& rel_dir);
  // Waits until `deadline`, a signal, or an inotify event worth a scan.
  void WaitUntil(Clock::time_point deadline);
  void ReadEvents();
  void PassGate();
  void Event(nlohmann::ordered_json j) {
    if (log_.events()) log_.Event(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  const WatchOptions& o_;
  Logger& log_;
  const std::atomic<bool>& stop_;
  int wake_fd_;
  std::shared_ptr<ObjectStore> src_, dst_;
  std::unique_ptr<Checkpoint> cp_;
  std::map<std::string, FileState> files_;
  std::vector<std::string> ready_;  // of the last scan, oldest first
  int inotify_fd_ = -1;
  std::map<int, std::string> watch_dirs_;  // wd → directory relative to DIR ("" for DIR)
  std::set<std::string> watched_;
  bool scan_soon_ = false;
  int gate_fd_ = -1;
  bool gate_open_ = false;
  int64_t ingested_ = 0, failed_ = 0;
  int settling_ = 0;
  // The status line's counts (updated by the workers as each file is done).
  std::atomic<int64_t> shown_ingested_{0}, shown_failed_{0}, shown_bytes_{0}, shown_rows_{0};
  std::atomic<int64_t> batch_files_{0}, batch_done_{0}, batch_bytes_{0}, batch_bytes_done_{0};
  Clock::time_point started_ = Clock::now();
  std::string StatusLine() const;
};

// "[watch] 12 ingested, 3.4 MB of CSV, 120000 rows  batch 2/5 files, 1.1 MB / 2.0 MB  0.9 MB/s
// ETA 1s  0 failed": the daemon's progress bar, on a terminal.
std::string Watcher::StatusLine() const {
  double secs = std::chrono::duration<double>(Clock::now() - started_).count();
  double rate = secs > 0 ? static_cast<double>(shown_bytes_) / secs : 0;
  std::string line = fmt::format("[watch] {} ingested, {} of CSV, {} rows", shown_ingested_.load(),
                                 HumanBytes(static_cast<double>(shown_bytes_)), shown_rows_.load());
  if (batch_files_ > 0) {
    int64_t left = batch_bytes_ - batch_bytes_done_;
    line += fmt::format("  batch {}/{} files, {} / {}", batch_done_.load(), batch_files_.load(),
                        HumanBytes(static_cast<double>(batch_bytes_done_)),
                        HumanBytes(static_cast<double>(batch_bytes_)));
    line += fmt::format("  {}/s  ETA {}", HumanBytes(rate),
                        rate > 0 && left > 0 ? fmt::format("{:.0f}s", left / rate) : "-");
  } else {
    line += fmt::format("  {}/s  waiting for files", HumanBytes(rate));
  }
  return line + fmt::format("  {} failed", shown_failed_.load());
}

Status Watcher::Open() {
  std::error_code ec;
  if (!fs::is_directory(o_.dir, ec)) {
    return Status::NotFound(o_.dir + ": no such directory to watch");
  }
  LP_ASSIGN_OR_RETURN(cp_, Checkpoint::Open(o_.checkpoint, o_.dir));
  if (cp_->ignored_lines() > 0) {
    log_.Warning(fmt::format("{}: ignored {} line(s) that do not parse (a torn last line?)",
                             o_.checkpoint, cp_->ignored_lines()));
  }
  LP_ASSIGN_OR_RETURN(src_, OpenStore(o_.dir));
  StoreOptions so;
  so.create_local_root = true;
  so.create_bucket = true;
  LP_ASSIGN_OR_RETURN(dst_, OpenStore(o_.dst, so));
  // What a run that died left in DST's journal is ended now, even when every file turns out
  // to be in the checkpoint already (no batch, hence no RunJob, would ever look).
  LoggerProgress progress(log_);
  LP_RETURN_IF_ERROR(RecoverStore(o_.dst, progress).status());
  if (o_.inotify) {
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) {
      log_.Warning(fmt::format("inotify unavailable ({}): rescanning every {} s only",
                               strerror(errno), o_.poll_s));
    }
  }
  if (const char* gate = std::getenv("LAKEPACK_WATCH_SCAN_GATE")) {
    // Tests: one line read from this FIFO before each scan (docs/testing.md).
    gate_fd_ = ::open(gate, O_RDONLY | O_CLOEXEC);
    if (gate_fd_ < 0) return Status::IOError(fmt::format("{}: cannot open the scan gate", gate));
    gate_open_ = true;
  }
  return Status::OK();
}

void Watcher::PassGate() {
  if (!gate_open_) return;
  char c;
  while (true) {
    ssize_t n = ::read(gate_fd_, &c, 1);
    if (n < 0 && errno == EINTR) {
      if (stop_) return;
      continue;
    }
    if (n <= 0) {
      gate_open_ = false;  // the writer closed it: scans run on their own again
      return;
    }
    if (c == '\n') return;
  }
}

void Watcher::AddWatch(const std::string& rel_dir) {
  if (inotify_fd_ < 0 || watched_.count(rel_dir)) return;
  std::string path = rel_dir.empty() ? o_.dir : o_.dir + "/" + rel_dir;
  int wd = ::inotify_add_watch(
      inotify_fd_, path.c_str(),
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
  if (wd < 0) {
    log_.Debug(fmt::format("inotify: cannot watch {}: {} (the rescan still finds its files)", path,
                           strerror(errno)));
    return;
  }
  watch_dirs_[wd] = rel_dir;
  watched_.insert(rel_dir);
}

void Watcher::ReadEvents() {
  if (inotify_fd_ < 0) return;
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
    if (n <= 0) return;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        log_.Debug("inotify: queue overflow; rescanning");
        scan_soon_ = true;
        continue;
      }
      if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        auto it = watch_dirs_.find(ev->wd);
        if (it != watch_dirs_.end()) {
          watched_.erase(it->second);
          watch_dirs_.erase(it);
        }
        scan_soon_ = true;
        continue;
      }
      scan_soon_ = true;
      if ((ev->mask & IN_MOVED_TO) && ev->len > 0 && !(ev->mask & IN_ISDIR)) {
        auto it = watch_dirs_.find(ev->wd);
        if (it == watch_dirs_.end()) continue;
        std::string rel = it->second.empty() ? ev->name : it->second + "/" + ev->name;
        files_[rel].renamed = true;
      }
    }
  }
}

void Watcher::WaitUntil(Clock::time_point deadline) {
  while (!stop_ && !scan_soon_) {
    auto now = Clock::now();
    if (now >= deadline) return;
    int ms = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1);
    struct pollfd fds[2];
    int n = 0;
    if (inotify_fd_ >= 0) fds[n++] = {inotify_fd_, POLLIN, 0};
    if (wake_fd_ >= 0) fds[n++] = {wake_fd_, POLLIN, 0};
    int r = ::poll(fds, static_cast<nfds_t>(n), ms);
    if (r > 0) ReadEvents();
  }
}

void Watcher::Scan() {
  PassGate();
  scan_soon_ = false;
  const auto now = Clock::now();
  std::set<std::string> present;
  int seen = 0, done = 0, failed = 0;
  settling_ = 0;
  std::vector<std::pair<int64_t, std::string>> ready;
  AddWatch("");
  std::error_code ec;
  fs::recursive_directory_iterator it(o_.dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    log_.Error(fmt::format("{}: cannot scan: {}", o_.dir, ec.message()));
    return;
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      log_.Warning(fmt::format("{}: scan: {}", o_.dir, ec.message()));
      ec.clear();
      continue;
    }
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    std::string rel = fs::relative(p, o_.dir, ec).generic_string();
    if (ec) continue;
    struct stat st;
    if (::stat(p.c_str(), &st) != 0) continue;  // gone meanwhile
    if (S_ISDIR(st.st_mode)) {
      if (WatchIgnoresName(name)) {
        it.disable_recursion_pending();
      } else {
        AddWatch(rel);
      }
      continue;
    }
    if (!S_ISREG(st.st_mode) || WatchIgnoresName(name)) continue;
    std::string key = WatchOutputKey(rel, o_.format);
    if (key.empty()) continue;
    seen++;
    present.insert(rel);
    FileState& fsx = files_[rel];
    Seen now_seen{st.st_size, Ns(st.st_mtim), Ns(st.st_ctim), st.st_ino};
    if (!(now_seen == fsx.seen)) {
      if (fsx.status != FileState::kWaiting && fsx.scans_same > 0) {
        log_.Debug(fmt::format("{}: changed; trying it again", rel));
      }
      if (fsx.scans_same > 0 || fsx.status != FileState::kWaiting) {
        fsx.status = FileState::kWaiting;
        fsx.attempts = 0;
      }
      fsx.seen = now_seen;
      fsx.since = now;
      fsx.scans_same = 1;
    } else {
      fsx.scans_same++;
    }
    auto known = cp_->Find(rel);
    fsx.done = known && known->size == now_seen.size && known->mtime_ns == now_seen.mtime_ns;
    if (fsx.done) {
      done++;
      fsx.renamed = false;
      continue;
    }
    if (fsx.status != FileState::kWaiting) {
      failed++;
      continue;
    }
    if (fsx.attempts > 0 && now < fsx.retry_at) {
      settling_++;
      continue;
    }
    const bool settled =
        fsx.renamed ||
        (fsx.scans_same >= 2 && now - fsx.since >= std::chrono::duration<double>(o_.settle_s));
    if (!settled) {
      settling_++;
      continue;
    }
    ready.emplace_back(now_seen.ctime_ns, rel);
  }
  for (auto f = files_.begin(); f != files_.end();) {
    f = present.count(f->first) ? std::next(f) : files_.erase(f);
  }
  // Oldest first.
  std::sort(ready.begin(), ready.end());
  ready_.clear();
  for (auto& [t, rel] : ready) ready_.push_back(rel);
  nlohmann::ordered_json j;
  j["event"] = "scan";
  j["seen"] = seen;
  j["done"] = done;
  j["ready"] = ready_.size();
  j["settling"] = settling_;
  j["failed"] = failed;
  Event(j);
  log_.Debug(fmt::format("scan: {} CSV(s), {} in the checkpoint, {} ready, {} settling, {} failed",
                         seen, done, ready_.size(), settling_, failed));
}

void Watcher::Fail(const std::string& rel, FileState& st, const std::string& error, bool bad) {
  st.attempts++;
  st.error = error;
  bool final = bad || st.attempts >= o_.retries;
  double delay = 0;
  if (bad) {
    st.status = FileState::kBad;
  } else if (final) {
    st.status = FileState::kFailed;
  } else {
    delay = std::min(300.0, o_.retry_delay_s * std::pow(2.0, st.attempts - 1));
    st.retry_at = Clock::now() +
                  std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(delay));
  }
  if (final) {
    failed_++;
    shown_failed_++;
  }
  nlohmann::ordered_json j;
  j["event"] = "failed";
  j["file"] = rel;
  j["error"] = error;
  j["attempt"] = st.attempts;
  j["final"] = final;
  Event(j);
  if (bad) {
    log_.Error(fmt::format("{}: not converted, not uploaded: {} (tried again when it changes)", rel,
                           error));
  } else if (final) {
    log_.Error(fmt::format("{}: failed after {} attempt(s): {}", rel, st.attempts, error));
  } else {
    log_.Warning(fmt::format("{}: attempt {} of {} failed: {}; retrying in {:.1f} s", rel,
                             st.attempts, o_.retries, error, delay));
  }
}

void Watcher::Report(const std::string& rel, const Outcome& o) {
  nlohmann::ordered_json j;
  // The status line counts CSV bytes read, the measure of the batch and its ETA.
  const auto f = files_.find(rel);
  const int64_t csv_bytes = f == files_.end() ? 0 : f->second.seen.size;
  batch_done_++;
  batch_bytes_done_ += csv_bytes;
  if (o.kind == Outcome::kIngested) {
    shown_ingested_++;
    shown_bytes_ += csv_bytes;
    shown_rows_ += o.rows;
    j["event"] = "ingested";
    j["file"] = rel;
    j["md5"] = o.md5;
    j["rows"] = o.rows;
    j["bytes"] = o.bytes;
    j["seconds"] = std::round(o.seconds * 1000) / 1000;
    j["object"] = o.object;
    j["etag"] = o.etag;
    j["replaced"] = o.replaced;
    Event(j);
    log_.Info(fmt::format("ingested {}: {} rows, {} bytes, {:.2f} s -> {}{}", rel, o.rows, o.bytes,
                          o.seconds, o.object, o.replaced ? " (replaced)" : ""));
  } else if (o.kind == Outcome::kRecorded) {
    j["event"] = "recorded";
    j["file"] = rel;
    j["md5"] = o.md5;
    j["object"] = o.object;
    Event(j);
    log_.Info(
        fmt::format("{}: already in {} (written by an earlier run); checkpointed", rel, o.object));
  } else if (o.kind == Outcome::kUnchanged) {
    j["event"] = "unchanged";
    j["file"] = rel;
    j["md5"] = o.md5;
    Event(j);
    log_.Info(
        fmt::format("{}: same content as checkpointed (MD5 {}); nothing to upload", rel, o.md5));
  }
  log_.ShowStatus();
}

void Watcher::RunBatch() {
  std::vector<Candidate> candidates;
  batch_files_ = static_cast<int64_t>(ready_.size());
  batch_done_ = 0;
  batch_bytes_ = 0;
  batch_bytes_done_ = 0;
  for (const auto& rel : ready_) {
    candidates.push_back({rel, WatchOutputKey(rel, o_.format)});
    if (auto f = files_.find(rel); f != files_.end()) batch_bytes_ += f->second.seen.size;
  }
  log_.ShowStatus();
  WatchJob job(o_, src_, dst_, *cp_, candidates,
               [this](const std::string& rel, const Outcome& o) { Report(rel, o); });
  RunOptions ro;
  ro.parallel = std::max(1, o_.workers);
  ro.spool_dir = o_.spool_dir;
  ro.stop = &stop_;
  LoggerProgress progress(log_);
  auto summary = RunJob(job, ro, progress);
  auto outcomes = job.TakeOutcomes();
  if (!summary.ok()) {
    // Nothing ran (recovery or planning failed, e.g. the store is unreachable): every file
    // of the batch has had an attempt.
    for (const auto& c : candidates) {
      auto f = files_.find(c.rel);
      if (f != files_.end()) Fail(c.rel, f->second, summary.status().message(), false);
    }
    return;
  }
  for (const auto& w : summary->warnings) log_.Warning(w);
  std::map<std::string, std::string> skipped;
  for (const auto& line : summary->skipped) {
    for (const auto& c : candidates) {
      if (line.rfind(c.rel + ": ", 0) == 0) skipped[c.rel] = line.substr(c.rel.size() + 2);
    }
  }
  for (const auto& c : candidates) {
    auto f = files_.find(c.rel);
    if (f == files_.end()) continue;
    FileState& st = f->second;
    st.renamed = false;
    auto oc = outcomes.find(c.rel);
    const Outcome* o = oc == outcomes.end() ? nullptr : &oc->second;
    if (skipped.count(c.rel) && (!o || o->kind == Outcome::kNone || o->kind == Outcome::kFailed)) {
      // Changed while converted, or leased by another run: taken again once settled.
      st.scans_same = 0;
      nlohmann::ordered_json j;
      j["event"] = "skipped";
      j["file"] = c.rel;
      j["reason"] = skipped[c.rel];
      Event(j);
      log_.Info(fmt::format("{}: not taken this time: {}", c.rel, skipped[c.rel]));
      continue;
    }
    if (!o || o->kind == Outcome::kNone) continue;  // gone since the scan
    switch (o->kind) {
      case Outcome::kIngested:
        ingested_++;
        break;
      case Outcome::kBad:
        Fail(c.rel, st, o->error, true);
        break;
      case Outcome::kFailed:
        Fail(c.rel, st, o->error, false);
        break;
      default:  // recorded, unchanged: reported as they happened
        break;
    }
  }
}

Result<int> Watcher::Run() {
  LP_RETURN_IF_ERROR(Open());
  {
    nlohmann::ordered_json j;
    j["event"] = "start";
    j["dir"] = o_.dir;
    j["dst"] = o_.dst;
    j["checkpoint"] = o_.checkpoint;
    j["once"] = o_.once;
    j["inotify"] = inotify_fd_ >= 0;
    Event(j);
  }
  log_.set_status([this] { return StatusLine(); });
  log_.Info(fmt::format("watching {} -> {} (checkpoint {}, {} file(s) in it){}", o_.dir, o_.dst,
                        o_.checkpoint, cp_->files(), o_.once ? "; once" : ""));
  const auto poll = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(0.01, o_.poll_s)));
  const auto settle = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(std::max(0.0, o_.settle_s)));
  while (!stop_) {
    Scan();
    if (!ready_.empty()) {
      RunBatch();
      continue;  // rescan at once: files may have arrived meanwhile
    }
    if (o_.once && settling_ == 0) break;
    // Next scan: a poll period away, sooner when a settling file or a retry comes due.
    auto now = Clock::now();
    auto next = now + poll;
    for (const auto& [rel, st] : files_) {
      if (st.done || st.status != FileState::kWaiting) continue;
      if (st.attempts > 0 && st.retry_at > now) {
        next = std::min(next, st.retry_at);
      } else if (st.scans_same > 0) {
        // A file seen once or changing: look again when it could have settled, but not in a
        // tight loop while it is being written.
        next = std::min(next, std::max(st.since + settle, now + std::chrono::milliseconds(50)));
      }
    }
    WaitUntil(next);
  }
  const char* reason = stop_ ? "signal" : "once";
  int pending = 0;
  for (const auto& [rel, st] : files_) {
    auto known = cp_->Find(rel);
    bool done = known && known->size == st.seen.size && known->mtime_ns == st.seen.mtime_ns;
    if (!done && st.status == FileState::kWaiting) pending++;
  }
  nlohmann::ordered_json j;
  j["event"] = "stop";
  j["reason"] = reason;
  j["ingested"] = ingested_;
  j["failed"] = failed_;
  j["pending"] = pending;
  Event(j);
  int failed_now = 0;
  for (const auto& [rel, st] : files_) failed_now += st.status != FileState::kWaiting;
  log_.Info(fmt::format("stopped ({}): {} file(s) ingested, {} failed, {} pending", reason,
                        ingested_, failed_now, pending));
  log_.ClearStatus();
  if (o_.once) return failed_now > 0 || pending > 0 ? 1 : 0;
  return 0;
}

}  // namespace

Result<int> RunWatch(const WatchOptions& options, Logger& log, const std::atomic<bool>& stop,
                     int wake_fd) {
  Watcher w(options, log, stop, wake_fd);
  return w.Run();
}

}  // namespace lakepack
