// Transfer benchmark for bench/transfer.sh: moves every file of a local directory to a store, or
// every object under a store prefix to a local directory, through the public API only
// (OpenStore, WriteFromFile, ReadToFile), with N objects in flight at once.
//   lakepack_bench_transfer [--threads N] up   LOCAL_DIR URI   files of LOCAL_DIR → URI/<name>
//   lakepack_bench_transfer [--threads N] down LOCAL_DIR URI   objects under URI → LOCAL_DIR/<key>
// Prints one line with objects, bytes, seconds and MB/s; exit 0 on success, 1 when a transfer
// failed (the first error is printed), 2 on bad usage. S3 settings come from the environment
// (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, ...), as for the lakepack binary.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/uri.h"

namespace {

constexpr int kDefaultThreads = 16;

struct Job {
  std::string key;
  std::string local_path;
  int64_t size = 0;
};

int Usage() {
  std::fprintf(stderr,
               "usage: lakepack_bench_transfer [--threads N] up|down LOCAL_DIR URI\n"
               "  up    uploads every regular file of LOCAL_DIR to URI/<name>\n"
               "  down  downloads every object under URI to LOCAL_DIR/<key>\n"
               "  --threads N  objects in flight at once (default %d)\n",
               kDefaultThreads);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = kDefaultThreads;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (a.rfind("--threads=", 0) == 0) {
      threads = std::atoi(a.c_str() + 10);
    } else if (a == "-h" || a == "--help") {
      return Usage();
    } else {
      args.push_back(a);
    }
  }
  if (args.size() != 3 || (args[0] != "up" && args[0] != "down") || threads < 1) return Usage();
  const bool up = args[0] == "up";
  const std::filesystem::path local_dir = args[1];
  const std::string& uri = args[2];

  auto store = lakepack::OpenStore(uri, lakepack::StoreOptions{.create_local_root = up});
  if (!store.ok()) {
    std::fprintf(stderr, "lakepack_bench_transfer: %s\n", store.status().ToString().c_str());
    return 1;
  }
  // As every lakepack command does before its first write (the commit protocol asks): the
  // store then writes the way it does inside lakepack (S3: probed endpoints get checksums).
  (void)(*store)->Capabilities();

  // The work list: made before the clock starts for uploads (a directory scan); for downloads
  // the listing is part of the transfer and timed with it.
  const auto start = std::chrono::steady_clock::now();
  std::vector<Job> jobs;
  std::error_code ec;
  if (up) {
    for (const auto& entry : std::filesystem::directory_iterator(local_dir, ec)) {
      if (!entry.is_regular_file()) continue;
      jobs.push_back({entry.path().filename().string(), entry.path().string(),
                      static_cast<int64_t>(entry.file_size())});
    }
    if (ec) {
      std::fprintf(stderr, "lakepack_bench_transfer: %s: %s\n", local_dir.c_str(),
                   ec.message().c_str());
      return 1;
    }
  } else {
    auto objects = (*store)->ListAll("");
    if (!objects.ok()) {
      std::fprintf(stderr, "lakepack_bench_transfer: %s\n", objects.status().ToString().c_str());
      return 1;
    }
    for (const lakepack::ObjectInfo& o : *objects) {
      std::filesystem::path path = local_dir / o.key;
      std::filesystem::create_directories(path.parent_path(), ec);
      jobs.push_back({o.key, path.string(), o.size});
    }
  }
  const auto work_start = up ? std::chrono::steady_clock::now() : start;

  std::atomic<size_t> next{0};
  std::atomic<int64_t> bytes{0};
  std::mutex error_mu;
  std::string first_error;
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      const Job& job = jobs[i];
      lakepack::Status st;
      if (up) {
        auto written = (*store)->WriteFromFile(job.key, job.local_path);
        st = written.status();
      } else {
        st = (*store)->ReadToFile(job.key, job.local_path);
      }
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (first_error.empty()) first_error = job.key + ": " + st.ToString();
        next = jobs.size();  // stop handing out work
        return;
      }
      bytes += job.size;
    }
  };
  std::vector<std::thread> pool;
  const int n = std::min<int>(threads, std::max<size_t>(jobs.size(), 1));
  for (int t = 0; t < n; ++t) pool.emplace_back(worker);
  for (std::thread& t : pool) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - work_start).count();

  if (!first_error.empty()) {
    std::fprintf(stderr, "lakepack_bench_transfer: %s\n", first_error.c_str());
    return 1;
  }
  std::printf("%s %zu objects, %lld bytes, %.3f s, %.1f MB/s, %d threads\n", up ? "up" : "down",
              jobs.size(), static_cast<long long>(bytes.load()), seconds,
              seconds > 0 ? static_cast<double>(bytes.load()) / 1e6 / seconds : 0.0, n);
  return 0;
}
