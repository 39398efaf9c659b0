// Bounded parallelism (see parallel.h).
#include "common/parallel.h"

#include <atomic>
#include <thread>

namespace lakepack {

std::vector<Status> ParallelForAll(size_t n, int workers, const std::function<Status(size_t)>& fn) {
  std::vector<Status> results(n);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) results[i] = fn(i);
  };
  size_t threads = std::min<size_t>(n, workers < 1 ? 1 : workers);
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; t++) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return results;
}

Status ParallelFor(size_t n, int workers, const std::function<Status(size_t)>& fn) {
  std::atomic<bool> failed{false};
  auto results = ParallelForAll(n, workers, [&](size_t i) {
    if (failed.load()) return Status::Cancelled("skipped after an earlier failure");
    Status s = fn(i);
    if (!s.ok()) failed = true;
    return s;
  });
  for (auto& s : results) {
    if (!s.ok() && s.code() != StatusCode::kCancelled) return s;
  }
  return Status::OK();
}

}  // namespace lakepack
