// `lakepack watch [DIR] [DST]`: every CSV dropped under DIR lands in DST as Parquet exactly
// once (docs/watch.md). Flags win over the seed's environment variables.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/cli.h"
#include "cli/flags.h"
#include "common/logger.h"
#include "exec/watch.h"

namespace lakepack::cli {

namespace {

struct WatchFlags {
  std::string dir;
  std::string dst;
  std::string checkpoint;
  bool once = false;
  int retries = 3;
  double retry_delay = 5;
  int workers = 0;
  double settle = 2;
  double poll = 5;
  bool no_inotify = false;
  std::string log_file;
  std::string log_max_bytes = "5MiB";
  int log_max_files = 30;
  std::string log_level;
  std::string format = "parquet";
  std::string compression = "snappy";
};

std::atomic<bool> g_stop{false};
int g_wake_write = -1;

void OnSignal(int) {
  g_stop = true;
  if (g_wake_write >= 0) {
    char c = 1;
    ssize_t ignored = ::write(g_wake_write, &c, 1);
    (void)ignored;
  }
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

int RunWatchCommand(const WatchFlags& f, const GlobalOptions& g) {
  constexpr std::string_view kCmd = "watch";
  constexpr std::string_view kDefaultDir = "/data/csv";
  WatchOptions o;
  // Flags, then the seed's variables, then the seed's defaults.
  std::string dir = !f.dir.empty() ? f.dir : Env("CSV_DIRECTORY_PATH");
  if (dir.empty()) dir = kDefaultDir;
  o.dir = std::filesystem::absolute(dir).lexically_normal().string();
  while (o.dir.size() > 1 && o.dir.back() == '/') o.dir.pop_back();
  o.dst = f.dst;
  if (o.dst.empty() && !Env("MINIO_BUCKET").empty()) o.dst = "s3://" + Env("MINIO_BUCKET");
  if (o.dst.empty()) {
    return Fail(kCmd, Status::InvalidArgument("DST is required (or set MINIO_BUCKET)"), true);
  }
  o.checkpoint = !f.checkpoint.empty() ? f.checkpoint : Env("CHECKPOINT_FILE");
  if (o.checkpoint.empty()) {
    o.checkpoint =
        o.dir == kDefaultDir ? "/data/checkpoint.txt" : o.dir + "/.lakepack-checkpoint.txt";
  }
  std::string level_text = !f.log_level.empty() ? f.log_level : Env("LOG_LEVEL");
  if (level_text.empty()) level_text = "INFO";
  auto level = ParseLogLevel(level_text);
  if (!level.ok()) {
    return Fail(kCmd,
                Status::InvalidArgument((f.log_level.empty() ? "LOG_LEVEL: " : "--log-level: ") +
                                        level.status().message()),
                true);
  }
  if (f.format == "parquet") {
    o.format = FileFormat::kParquet;
  } else if (f.format == "jsonl") {
    o.format = FileFormat::kJsonLines;
  } else {
    return Fail(kCmd,
                Status::InvalidArgument("--format '" + f.format + "': expected parquet or jsonl"),
                true);
  }
  auto codec = ParseCompressionFlag("--compression", f.compression);
  if (!codec.ok()) return Fail(kCmd, codec.status(), true);
  o.compression = *codec;
  auto max_bytes = ParseByteSizeFlag("--log-max-bytes", f.log_max_bytes, /*positive=*/true);
  if (!max_bytes.ok()) return Fail(kCmd, max_bytes.status(), true);
  o.once = f.once;
  o.retries = f.retries;
  o.retry_delay_s = f.retry_delay;
  o.workers = f.workers > 0 ? f.workers
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  o.settle_s = f.settle;
  o.poll_s = f.poll;
  o.inotify = !f.no_inotify;
  o.engine = EngineOptionsFrom(g);
  o.spool_dir = g.spool_dir;

  Logger log(*level, !g.quiet);
  log.set_events(g.json);
  if (!f.log_file.empty()) {
    Status opened = log.OpenFile(f.log_file, max_bytes->bytes(), f.log_max_files);
    if (!opened.ok()) return Fail(kCmd, opened);
  }

  // SIGTERM / SIGINT: start nothing new, finish the files in hand, exit.
  int pipefd[2] = {-1, -1};
  if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) == 0) g_wake_write = pipefd[1];
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto code = RunWatch(o, log, g_stop, pipefd[0]);
  if (!code.ok()) {
    log.Log(LogLevel::kCritical, code.status().message());
    return Fail(kCmd, code.status(), code.status().code() == StatusCode::kInvalidArgument);
  }
  return *code;
}

}  // namespace

Command AddWatchCommand(CLI::App& app, const GlobalOptions& global) {
  auto f = std::make_shared<WatchFlags>();
  CLI::App* sub = app.add_subcommand(
      "watch", "Watch a folder: every CSV dropped in it lands in DST as Parquet, exactly once");
  sub->add_option("DIR", f->dir,
                  "The folder watched, recursively (default: $CSV_DIRECTORY_PATH, else /data/csv)")
      ->envname("CSV_DIRECTORY_PATH");
  sub->add_option("DST", f->dst,
                  "Where the Parquet files go: s3://bucket[/prefix] or a directory (default: "
                  "s3://$MINIO_BUCKET)");
  sub->add_flag("--once", f->once,
                "Convert what is there (once it has settled) and exit: 0 when every CSV is in "
                "DST, 1 when any failed");
  sub->add_option("--checkpoint", f->checkpoint,
                  "The checkpoint file (default: $CHECKPOINT_FILE; else /data/checkpoint.txt for "
                  "/data/csv, DIR/.lakepack-checkpoint.txt otherwise)")
      ->envname("CHECKPOINT_FILE");
  sub->add_option("--retries", f->retries, "Attempts per file before it is reported failed")
      ->capture_default_str()
      ->check(kPositive);
  sub->add_option("--retry-delay", f->retry_delay,
                  "Seconds before the second attempt, doubled after each")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--workers", f->workers, "Files converted at once (default: the cores)")
      ->check(kPositive);
  sub->add_option("--settle", f->settle,
                  "A file is taken when two scans this many seconds apart saw the same size, "
                  "mtime and ctime (or when it arrived by rename)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--poll", f->poll, "Seconds between rescans (the rescan is the truth)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub->add_flag("--no-inotify", f->no_inotify, "Rescan only (inotify is only a wake-up anyway)");
  sub->add_option("--log-file", f->log_file, "Also log to this rotating file");
  sub->add_option("--log-max-bytes", f->log_max_bytes, "Size of one log file")
      ->capture_default_str();
  sub->add_option("--log-max-files", f->log_max_files,
                  "Log files kept: FILE, FILE.1, ... FILE.(N-1)")
      ->capture_default_str()
      ->check(kPositive);
  sub->add_option("--log-level", f->log_level,
                  "DEBUG, INFO, WARNING, ERROR or CRITICAL (default: $LOG_LEVEL, else INFO)")
      ->envname("LOG_LEVEL");
  sub->add_option("--format,-f", f->format, "Output format: parquet or jsonl")
      ->capture_default_str();
  sub->add_option("--compression,-c", f->compression,
                  "Parquet codec: snappy, zstd, gzip, uncompressed")
      ->capture_default_str();
  sub->footer(
      "Examples:\n"
      "  lakepack watch /data/csv s3://landing --workers 4\n"
      "  lakepack watch ./incoming ./parquet --once --settle 0\n"
      "  CSV_DIRECTORY_PATH=/data/csv MINIO_SERVER=minio:9000 MINIO_ACCESS_KEY=... \\\n"
      "    MINIO_SECRET_KEY=... MINIO_BUCKET=landing lakepack watch\n"
      "Each DIR/a/b.csv becomes DST/a/b.parquet, once per content (name + MD5 in the "
      "checkpoint); new content replaces it; a deleted CSV leaves its Parquet in place. "
      "See docs/watch.md.");
  return {sub, [f, &global] { return RunWatchCommand(*f, global); }};
}

}  // namespace lakepack::cli
