// ThreadPool and ParallelFor: every index once, bounded workers, first error, and no
// deadlock when ParallelFor nests inside the same pool.
#include "store/s3/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace lakepack::s3 {
namespace {

TEST(ThreadPoolTest, RunsEveryIndexOnce) {
  ThreadPool pool(4);
  std::vector<std::atomic<int>> hits(1000);
  ASSERT_TRUE(ParallelFor(&pool, hits.size(), [&](size_t i) {
                hits[i]++;
                return Status::OK();
              }).ok());
  for (auto& h : hits) EXPECT_EQ(h.load(), 1);
  EXPECT_TRUE(ParallelFor(nullptr, 3, [](size_t) { return Status::OK(); }).ok());
  EXPECT_TRUE(ParallelFor(&pool, 0, [](size_t) { return Status::IOError("never"); }).ok());
}

TEST(ThreadPoolTest, ConcurrencyIsBoundedByPoolPlusCaller) {
  ThreadPool pool(3);
  std::atomic<int> running{0}, peak{0};
  // Each item holds its slot until a second item runs beside it (or a generous minute has
  // passed), so that "two at once" does not depend on a helper starting within a 2 ms sleep:
  // on a loaded machine the caller used to finish all 40 items alone.
  std::mutex mu;
  std::condition_variable cv;
  ASSERT_TRUE(ParallelFor(&pool, 40, [&](size_t) {
                int now = ++running;
                int seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                }
                {
                  std::unique_lock<std::mutex> lock(mu);
                  cv.notify_all();
                  cv.wait_for(lock, std::chrono::seconds(60), [&] { return peak.load() >= 2; });
                }
                --running;
                return Status::OK();
              }).ok());
  EXPECT_LE(peak.load(), 4);
  EXPECT_GE(peak.load(), 2);
}

TEST(ThreadPoolTest, StopsAfterFailureAndReportsLowestFailedIndex) {
  ThreadPool pool(2);
  std::atomic<int> ran{0};
  Status st = ParallelFor(&pool, 10000, [&](size_t i) {
    ran++;
    if (i == 5 || i == 7) return Status::IOError("failed " + std::to_string(i));
    return Status::OK();
  });
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.message() == "failed 5" || st.message() == "failed 7") << st.message();
  EXPECT_LT(ran.load(), 10000);
}

TEST(ThreadPoolTest, NestedParallelForDoesNotDeadlock) {
  ThreadPool pool(2);
  std::atomic<int> inner{0};
  Status st = ParallelFor(&pool, 8, [&](size_t) {
    return ParallelFor(&pool, 8, [&](size_t) {
      inner++;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      return Status::OK();
    });
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(inner.load(), 64);
}

}  // namespace
}  // namespace lakepack::s3
