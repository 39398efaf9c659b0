// ThreadPool and ParallelFor. The caller of ParallelFor works through the indexes itself and
// the pool only helps, so progress never depends on a free worker.
#include "store/s3/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>

namespace lakepack::s3 {

ThreadPool::ThreadPool(int size) : size_(std::max(1, size)) {}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ThreadPool::Submit(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
    // Threads start lazily: a store that only stats a few keys never starts any.
    if (idle_ < static_cast<int>(queue_.size()) && static_cast<int>(workers_.size()) < size_) {
      workers_.emplace_back([this] { WorkerLoop(); });
    }
  }
  cv_.notify_one();
}

void ThreadPool::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    ++idle_;
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    --idle_;
    if (queue_.empty()) return;  // stopping, and nothing left to do
    std::function<void()> task = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    task();
    lock.lock();
  }
}

namespace {

// Shared by the caller and its helpers; helpers hold it by shared_ptr because one may start
// (and find nothing left) after the caller has returned.
struct ForState {
  explicit ForState(size_t n, const std::function<Status(size_t)>& f) : n(n), fn(f) {}
  const size_t n;
  const std::function<Status(size_t)>& fn;  // valid while `closed` is false or helpers run
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable done_cv;
  int active = 0;       // helpers inside the loop
  bool closed = false;  // the caller is done: late helpers must not touch `fn`
  size_t error_index = SIZE_MAX;
  Status error;

  void RunItems() {
    while (!failed.load(std::memory_order_relaxed)) {
      size_t i = next.fetch_add(1);
      if (i >= n) return;
      Status st = fn(i);
      if (!st.ok()) {
        failed = true;
        std::lock_guard<std::mutex> lock(mu);
        if (i < error_index) {
          error_index = i;
          error = std::move(st);
        }
      }
    }
  }
};

}  // namespace

Status ParallelFor(ThreadPool* pool, size_t n, const std::function<Status(size_t)>& fn) {
  if (n == 0) return Status::OK();
  auto state = std::make_shared<ForState>(n, fn);
  if (pool != nullptr && n > 1) {
    size_t helpers = std::min<size_t>(n - 1, static_cast<size_t>(pool->size()));
    for (size_t h = 0; h < helpers; ++h) {
      pool->Submit([state] {
        {
          std::lock_guard<std::mutex> lock(state->mu);
          if (state->closed) return;
          ++state->active;
        }
        state->RunItems();
        std::lock_guard<std::mutex> lock(state->mu);
        if (--state->active == 0) state->done_cv.notify_all();
      });
    }
  }
  state->RunItems();
  std::unique_lock<std::mutex> lock(state->mu);
  state->closed = true;
  state->done_cv.wait(lock, [&] { return state->active == 0; });
  return state->error;
}

}  // namespace lakepack::s3
