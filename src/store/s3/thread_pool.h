// A fixed-size pool of worker threads and ParallelFor on top of it: how the S3 store runs
// multipart parts, ranged downloads and batch deletes side by side with bounded concurrency.
// Thread-safety: Submit and ParallelFor may be called from any thread, including from inside
// a task of the same pool (ParallelFor never waits for a task that has not started, so
// nesting cannot deadlock).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "lakepack/status.h"

namespace lakepack::s3 {

class ThreadPool {
 public:
  //! At most `size` worker threads, started on first use.
  explicit ThreadPool(int size);
  //! Finishes the queued tasks, then joins the workers.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return size_; }
  void Submit(std::function<void()> task);

 private:
  void WorkerLoop();

  const int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  int idle_ = 0;
  bool stopping_ = false;
};

//! Runs fn(0) … fn(n-1) on the calling thread and up to `pool->size()` workers at once, and
//! returns when all have finished. After the first failure no further index is started; the
//! result is the failure with the lowest index among those that ran (OK when none failed).
//! `pool` may be null: then everything runs on the calling thread.
Status ParallelFor(ThreadPool* pool, size_t n, const std::function<Status(size_t)>& fn);

}  // namespace lakepack::s3
