// Leases: how any number of runs and shards share one destination. Before a run builds a task
// it claims one lease object per lock of the task (`_lakepack/leases/<hash of the lock>`),
// create-only; it renews them while it works (compare-and-swap on the lease's ETag) and
// deletes them when the task is done. A lease names its owner (run id, host, pid and the
// pid's start time), its expiry and a generation. A lease is live while it has not expired
// and, when its owner ran on this host, while that process still runs: so a rerun on the same
// machine takes over a killed run's leases at once, and another machine waits for the expiry.
// Taking over a dead lease is a compare-and-swap too, and raises the generation, which the
// task's writes carry (write tags): a run that lost its lease fails its next renew and stops
// before its commit point.
//
// Leases rely on create-only and compare-and-swap writes. Where the store says they are not
// reliable (Capabilities(); s3rver), RunGuard below stands in: one run at a time.
// Thread-safety: a LeaseManager may be used from many threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

inline constexpr std::string_view kLeasePrefix = "_lakepack/leases/";
inline constexpr std::string_view kRunPrefix = "_lakepack/runs/";

//! Who runs: written into leases and run objects.
struct Owner {
  std::string run_id;  // random, 16 hex digits
  std::string host;
  int64_t pid = 0;
  int64_t pid_start = 0;  // the process's start time (clock ticks since boot), 0 unknown

  //! This process, with a fresh run id.
  static Owner Self();
  std::string Describe() const;  // "run 1a2b… (pid 42 on host h)"
};

//! A lease's content.
struct LeaseRecord {
  std::string lock;  // the lock it holds
  std::string task;  // the task id it was taken for
  Owner owner;
  int64_t expires_ms = 0;  // Unix milliseconds
  int64_t generation = 1;

  std::string ToJson() const;
  static Result<LeaseRecord> FromJson(const std::string& json);
};

//! Whether an owner is alive: on this host, its process must still run (same pid and start
//! time); elsewhere only the expiry can tell. Injected in tests.
struct Liveness {
  std::function<int64_t()> now_ms;                 // the clock
  std::function<bool(const Owner&)> running_here;  // owner on this host and running
  std::function<bool(const Owner&)> on_this_host;  // owner's host is this one
  static Liveness System();
  bool Live(const LeaseRecord& lease) const;
};

//! The key of the lease object for a lock.
std::string LeaseKey(std::string_view lock);

//! The leases one task holds.
struct HeldLeases {
  std::vector<std::string> keys;
  std::vector<std::string> etags;
  int64_t generation = 1;  // the highest generation among them
  //! Task ids whose dead owners held these locks before: their journal records (if any) must
  //! be recovered before this task goes on.
  std::vector<std::string> taken_over;
};

//! Why a claim did not succeed.
struct Busy {
  std::string lock;
  std::string holder;  // Owner::Describe of the live holder
};

class LeaseManager {
 public:
  //! `ttl_ms`: how long a lease lives without renewal (LAKEPACK_LEASE_SECONDS, default 300).
  LeaseManager(std::shared_ptr<ObjectStore> store, Owner self, Liveness liveness, int64_t ttl_ms);
  ~LeaseManager();

  //! The TTL from LAKEPACK_LEASE_SECONDS (default 300 s).
  static int64_t DefaultTtlMs();

  //! Whether the lease's holder is alive: Liveness decides, except for a holder that is this
  //! process under the run id of a LeaseManager no longer alive here (see lease.cc).
  bool Live(const LeaseRecord& rec) const;

  //! Claims every lock (in sorted order). All or nothing: on a busy lock the ones taken are
  //! released and `busy` says who holds it; the result is then std::nullopt.
  Result<std::optional<HeldLeases>> Claim(const std::vector<std::string>& locks,
                                          const std::string& task_id, Busy* busy);
  //! Renews every lease of `held` now (compare-and-swap). FailedPrecondition when one was
  //! taken by someone else: the caller must not commit.
  Status Renew(HeldLeases& held);
  //! Deletes the leases (pinned to their ETags: a lease taken over is not ours to delete).
  Status Release(const HeldLeases& held);

  //! Keeps renewing `held` in the background until Unwatch (every ttl/3).
  void Watch(HeldLeases* held);
  void Unwatch(HeldLeases* held);
  //! Whether a background renew of `held` failed (the lease was lost).
  bool Lost(const HeldLeases* held) const;

  //! Deletes the leases of dead owners (a run killed between dropping its record and
  //! releasing its leases leaves them), among `leases` (a listing of kLeasePrefix).
  //! Returns how many.
  Result<int> SweepDead(const std::vector<ObjectInfo>& leases);

  //! The live lease on `lock`, if any and not ours.
  Result<std::optional<LeaseRecord>> LiveHolder(const std::string& lock);

  const Owner& self() const { return self_; }
  const Liveness& liveness() const { return liveness_; }

 private:
  Result<bool> ClaimOne(const std::string& lock, const std::string& task_id, HeldLeases& held,
                        Busy* busy);
  void RenewLoop();

  std::shared_ptr<ObjectStore> store_;
  Owner self_;
  Liveness liveness_;
  int64_t ttl_ms_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<HeldLeases*, bool> watched_;  // value: lost
  bool stop_ = false;
  std::thread renewer_;
};

//! One run at a time, for stores whose create-only writes are not reliable: the run writes
//! `_lakepack/runs/<run id>` and then lists the others. If another live run is there, it backs
//! off with an error (both may back off; neither goes on with the other: safe). Stale run
//! objects of dead runs are removed.
class RunGuard {
 public:
  static Result<std::unique_ptr<RunGuard>> Acquire(std::shared_ptr<ObjectStore> store,
                                                   const Owner& self, const Liveness& liveness,
                                                   int64_t ttl_ms);
  ~RunGuard();

 private:
  RunGuard(std::shared_ptr<ObjectStore> store, std::string key)
      : store_(std::move(store)), key_(std::move(key)) {}
  std::shared_ptr<ObjectStore> store_;
  std::string key_;
};

}  // namespace lakepack
