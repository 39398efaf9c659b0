// When and how long to wait before trying an S3 request again (like Arrow's S3RetryStrategy).
// Thread-safety: strategies are immutable and shared by every request of a store.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "lakepack/status.h"

namespace lakepack::s3 {

//! One failed attempt, as the retry strategy sees it.
struct AttemptFailure {
  //! The translated failure; StatusCode::kRetryable marks a transient one (5xx, 429,
  //! SlowDown, timeouts, dropped connections, truncated bodies).
  Status status;
  //! 0 when no HTTP response arrived.
  int http_status = 0;
  //! S3's error code ("SlowDown"), or "" when there was none.
  std::string s3_code;
};

class RetryStrategy {
 public:
  virtual ~RetryStrategy() = default;

  //! How long to wait before the next attempt, or std::nullopt to give up. `attempts` is the
  //! number made so far (≥ 1), `elapsed` the time since the first began.
  virtual std::optional<std::chrono::milliseconds> NextDelay(
      const AttemptFailure& failure, int attempts, std::chrono::milliseconds elapsed) const = 0;

  //! A short description for option dumps ("exponential backoff, 6 retries, ...").
  virtual std::string Describe() const = 0;
};

//! Exponential backoff with full jitter: the n-th retry waits a uniformly random time in
//! [0, min(max_delay, base * 2^(n-1))] (AWS's recommended scheme, which spreads retries of
//! many clients instead of synchronising them). Only kRetryable failures are retried, at most
//! `max_retries` times, and never past `max_elapsed` since the first attempt.
class ExponentialBackoffRetry final : public RetryStrategy {
 public:
  ExponentialBackoffRetry(int max_retries, std::chrono::milliseconds base,
                          std::chrono::milliseconds max_delay,
                          std::chrono::milliseconds max_elapsed)
      : max_retries_(max_retries), base_(base), max_delay_(max_delay), max_elapsed_(max_elapsed) {}

  std::optional<std::chrono::milliseconds> NextDelay(
      const AttemptFailure& failure, int attempts,
      std::chrono::milliseconds elapsed) const override;
  std::string Describe() const override;

  //! The upper bound of the jittered delay before retry number `retry` (1-based).
  std::chrono::milliseconds Ceiling(int retry) const;

 private:
  const int max_retries_;
  const std::chrono::milliseconds base_;
  const std::chrono::milliseconds max_delay_;
  const std::chrono::milliseconds max_elapsed_;
};

//! Never retries (tests, and callers that retry on their own).
class NoRetry final : public RetryStrategy {
 public:
  std::optional<std::chrono::milliseconds> NextDelay(const AttemptFailure&, int,
                                                     std::chrono::milliseconds) const override {
    return std::nullopt;
  }
  std::string Describe() const override { return "no retries"; }
};

}  // namespace lakepack::s3
