// The default retry strategy: capped exponential backoff with full jitter.
#include "store/s3/retry.h"

#include <algorithm>
#include <random>
#include <thread>

namespace lakepack::s3 {

namespace {

int64_t RandomBelowOrEqual(int64_t max) {
  if (max <= 0) return 0;
  thread_local std::mt19937_64 rng(std::random_device{}() ^
                                   std::hash<std::thread::id>()(std::this_thread::get_id()));
  return std::uniform_int_distribution<int64_t>(0, max)(rng);
}

}  // namespace

std::chrono::milliseconds ExponentialBackoffRetry::Ceiling(int retry) const {
  int shift = std::clamp(retry - 1, 0, 30);
  int64_t ceiling = base_.count();
  // Doubling stops at the cap, which also keeps the shift from overflowing.
  for (int i = 0; i < shift && ceiling < max_delay_.count(); ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(ceiling, max_delay_.count()));
}

std::optional<std::chrono::milliseconds> ExponentialBackoffRetry::NextDelay(
    const AttemptFailure& failure, int attempts, std::chrono::milliseconds elapsed) const {
  if (!failure.status.IsRetryable()) return std::nullopt;
  if (attempts > max_retries_) return std::nullopt;
  std::chrono::milliseconds delay(RandomBelowOrEqual(Ceiling(attempts).count()));
  if (elapsed + delay >= max_elapsed_) return std::nullopt;
  return delay;
}

std::string ExponentialBackoffRetry::Describe() const {
  return "exponential backoff with full jitter, up to " + std::to_string(max_retries_) +
         " retries within " + std::to_string(max_elapsed_.count() / 1000) + " s, base " +
         std::to_string(base_.count()) + " ms, cap " + std::to_string(max_delay_.count()) + " ms";
}

}  // namespace lakepack::s3
