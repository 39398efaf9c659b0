// Leases and the one-run guard (see lease.h).
#include "commit/lease.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "common/crash_point.h"
#include "common/strings.h"

namespace lakepack {

namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Field 22 of /proc/<pid>/stat: the start time, which tells a reused pid from the original.
int64_t ProcessStart(int64_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return 0;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  for (int i = 3; i <= 22 && rest >> field; i++) {
    if (i == 22) return std::stoll(field);
  }
  return 0;
}

std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

json OwnerToJson(const Owner& o) {
  return {{"run", o.run_id}, {"host", o.host}, {"pid", o.pid}, {"pid_start", o.pid_start}};
}

Owner OwnerFromJson(const json& j) {
  Owner o;
  o.run_id = j.value("run", "");
  o.host = j.value("host", "");
  o.pid = j.value("pid", int64_t{0});
  o.pid_start = j.value("pid_start", int64_t{0});
  return o;
}

}  // namespace

Owner Owner::Self() {
  Owner o;
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(getpid()));
  o.run_id = fmt::format("{:016x}", gen());
  o.host = HostName();
  o.pid = ::getpid();
  o.pid_start = ProcessStart(o.pid);
  return o;
}

std::string Owner::Describe() const {
  return fmt::format("run {} (pid {} on {})", run_id, pid, host);
}

std::string LeaseRecord::ToJson() const {
  json j{{"lock", lock},
         {"task", task},
         {"owner", OwnerToJson(owner)},
         {"expires_ms", expires_ms},
         {"generation", generation}};
  return j.dump();
}

Result<LeaseRecord> LeaseRecord::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("owner") || !j["owner"].is_object() ||
      !j.contains("expires_ms") || !j["expires_ms"].is_number_integer()) {
    return Status::Corruption("lease is not a lakepack lease record");
  }
  LeaseRecord r;
  r.lock = j.value("lock", "");
  r.task = j.value("task", "");
  r.owner = OwnerFromJson(j["owner"]);
  r.expires_ms = j["expires_ms"].get<int64_t>();
  r.generation = j.value("generation", int64_t{1});
  return r;
}

Liveness Liveness::System() {
  Liveness l;
  l.now_ms = NowMs;
  std::string host = HostName();
  l.on_this_host = [host](const Owner& o) { return o.host == host; };
  l.running_here = [](const Owner& o) {
    if (o.pid <= 0) return false;
    if (::kill(static_cast<pid_t>(o.pid), 0) != 0 && errno != EPERM) return false;
    return o.pid_start == 0 || ProcessStart(o.pid) == o.pid_start;
  };
  return l;
}

bool Liveness::Live(const LeaseRecord& lease) const {
  if (lease.expires_ms <= now_ms()) return false;
  // On this machine a dead process is known at once: a rerun after a crash need not wait.
  if (on_this_host(lease.owner)) return running_here(lease.owner);
  return true;
}

std::string LeaseKey(std::string_view lock) {
  return fmt::format("{}{:016x}", kLeasePrefix, Fnv1a(lock));
}

namespace {

// The run ids of this process's live LeaseManagers. A lease that names this very process
// (host, pid and pid start) under a run id not in here was left by an earlier run of the
// process (lakepack watch runs one per batch) whose release failed: it is dead, although its
// pid is alive. Without this a file's retry would wait for the lease to expire.
std::mutex g_runs_mu;
std::multiset<std::string> g_runs;

bool RunActive(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(g_runs_mu);
  return g_runs.count(run_id) > 0;
}

}  // namespace

LeaseManager::LeaseManager(std::shared_ptr<ObjectStore> store, Owner self, Liveness liveness,
                           int64_t ttl_ms)
    : store_(std::move(store)),
      self_(std::move(self)),
      liveness_(std::move(liveness)),
      ttl_ms_(ttl_ms) {
  std::lock_guard<std::mutex> lock(g_runs_mu);
  g_runs.insert(self_.run_id);
}

bool LeaseManager::Live(const LeaseRecord& rec) const {
  const Owner& o = rec.owner;
  if (o.host == self_.host && o.pid == self_.pid && o.pid_start == self_.pid_start &&
      !RunActive(o.run_id)) {
    return false;
  }
  return liveness_.Live(rec);
}

LeaseManager::~LeaseManager() {
  {
    std::lock_guard<std::mutex> lock(g_runs_mu);
    auto it = g_runs.find(self_.run_id);
    if (it != g_runs.end()) g_runs.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
}

int64_t LeaseManager::DefaultTtlMs() {
  const char* s = std::getenv("LAKEPACK_LEASE_SECONDS");
  if (s && *s) {
    char* end = nullptr;
    double v = std::strtod(s, &end);
    if (end && *end == '\0' && v > 0) return static_cast<int64_t>(v * 1000);
  }
  return 300 * 1000;
}

Result<bool> LeaseManager::ClaimOne(const std::string& lock, const std::string& task_id,
                                    HeldLeases& held, Busy* busy) {
  const std::string key = LeaseKey(lock);
  LeaseRecord mine;
  mine.lock = lock;
  mine.task = task_id;
  mine.owner = self_;
  mine.expires_ms = liveness_.now_ms() + ttl_ms_;
  PutOptions create;
  create.if_none_match = true;
  auto made = store_->Write(key, mine.ToJson(), create);
  if (made.ok()) {
    held.keys.push_back(key);
    held.etags.push_back(made->etag);
    return true;
  }
  if (!made.status().IsAlreadyExists()) return made.status().WithContext("lease");
  // Someone holds or held it: read it pinned to the ETag we then compare-and-swap against.
  LP_ASSIGN_OR_RETURN(auto info, store_->Stat(key));
  if (!info) return ClaimOne(lock, task_id, held, busy);  // released meanwhile: try again
  auto text = store_->ReadPinned(key, info->etag);
  if (!text.ok()) {
    if (text.status().IsNotFound() || text.status().code() == StatusCode::kFailedPrecondition) {
      // Changed under us: someone else is claiming it right now.
      if (busy) *busy = {lock, "another run (the lease changed while it was read)"};
      return false;
    }
    return text.status().WithContext("lease");
  }
  auto theirs = LeaseRecord::FromJson(*text);
  if (theirs.ok() && theirs->owner.run_id == self_.run_id) {
    // Ours already (a second task of this run with the same lock is excluded by the caller).
    if (busy) *busy = {lock, "this run"};
    return false;
  }
  if (theirs.ok() && Live(*theirs)) {
    if (busy) *busy = {lock, theirs->owner.Describe()};
    return false;
  }
  // Dead (or unreadable: a lease cut short by a crash of its writer). Take it over.
  mine.generation = theirs.ok() ? theirs->generation + 1 : 2;
  PutOptions cas;
  cas.if_match = info->etag;
  auto taken = store_->Write(key, mine.ToJson(), cas);
  if (!taken.ok()) {
    if (taken.status().code() == StatusCode::kFailedPrecondition) {
      if (busy) *busy = {lock, "another run (it took over the expired lease first)"};
      return false;
    }
    return taken.status().WithContext("lease");
  }
  held.keys.push_back(key);
  held.etags.push_back(taken->etag);
  held.generation = std::max(held.generation, mine.generation);
  if (theirs.ok() && !theirs->task.empty()) held.taken_over.push_back(theirs->task);
  return true;
}

Result<std::optional<HeldLeases>> LeaseManager::Claim(const std::vector<std::string>& locks,
                                                      const std::string& task_id, Busy* busy) {
  std::vector<std::string> sorted = locks;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  HeldLeases held;
  for (const auto& lock : sorted) {
    auto got = ClaimOne(lock, task_id, held, busy);
    if (!got.ok() || !*got) {
      (void)Release(held);
      if (!got.ok()) return got.status();
      return std::optional<HeldLeases>();
    }
  }
  CrashPoint("lease-claimed");
  return std::optional<HeldLeases>(std::move(held));
}

Status LeaseManager::Renew(HeldLeases& held) {
  for (size_t i = 0; i < held.keys.size(); i++) {
    // The lock and task are in the lease already; the new body only moves the expiry.
    auto text = store_->ReadPinned(held.keys[i], held.etags[i]);
    if (!text.ok()) {
      if (text.status().IsNotFound() || text.status().code() == StatusCode::kFailedPrecondition) {
        return Status::FailedPrecondition(store_->UriOf(held.keys[i]) +
                                          ": lease was taken over by another run");
      }
      return text.status().WithContext("renewing lease");
    }
    LP_ASSIGN_OR_RETURN(LeaseRecord rec, LeaseRecord::FromJson(*text));
    if (rec.owner.run_id != self_.run_id) {
      return Status::FailedPrecondition(store_->UriOf(held.keys[i]) + ": lease was taken over by " +
                                        rec.owner.Describe());
    }
    rec.expires_ms = liveness_.now_ms() + ttl_ms_;
    PutOptions cas;
    cas.if_match = held.etags[i];
    auto w = store_->Write(held.keys[i], rec.ToJson(), cas);
    if (!w.ok()) {
      if (w.status().code() == StatusCode::kFailedPrecondition) {
        return Status::FailedPrecondition(store_->UriOf(held.keys[i]) +
                                          ": lease was taken over by another run");
      }
      return w.status().WithContext("renewing lease");
    }
    held.etags[i] = w->etag;
  }
  return Status::OK();
}

Status LeaseManager::Release(const HeldLeases& held) {
  if (held.keys.empty()) return Status::OK();
  std::vector<std::pair<std::string, std::string>> pinned;
  for (size_t i = 0; i < held.keys.size(); i++) pinned.emplace_back(held.keys[i], held.etags[i]);
  LP_ASSIGN_OR_RETURN(auto changed, store_->DeletePinned(pinned));
  (void)changed;  // taken over by someone else: theirs now
  CrashPoint("lease-released");
  return Status::OK();
}

void LeaseManager::Watch(HeldLeases* held) {
  std::lock_guard<std::mutex> lock(mu_);
  watched_[held] = false;
  if (!renewer_.joinable()) renewer_ = std::thread([this] { RenewLoop(); });
}

void LeaseManager::Unwatch(HeldLeases* held) {
  std::lock_guard<std::mutex> lock(mu_);
  watched_.erase(held);
}

bool LeaseManager::Lost(const HeldLeases* held) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watched_.find(const_cast<HeldLeases*>(held));
  return it != watched_.end() && it->second;
}

void LeaseManager::RenewLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(ttl_ms_ / 3, 10)));
    if (stop_) break;
    for (auto& [held, lost] : watched_) {
      if (lost) continue;
      // Renewing under the lock keeps Unwatch from freeing `held` meanwhile; renewals are
      // rare (every ttl/3) and small.
      if (!Renew(*held).ok()) lost = true;
    }
  }
}

Result<int> LeaseManager::SweepDead(const std::vector<ObjectInfo>& leases) {
  std::vector<std::pair<std::string, std::string>> dead;
  for (const auto& l : leases) {
    auto text = store_->ReadPinned(l.key, l.etag);
    if (!text.ok()) continue;  // changed or gone meanwhile: someone is at work on it
    auto rec = LeaseRecord::FromJson(*text);
    if (rec.ok() && (rec->owner.run_id == self_.run_id || Live(*rec))) continue;
    dead.emplace_back(l.key, l.etag);
  }
  if (dead.empty()) return 0;
  LP_ASSIGN_OR_RETURN(auto changed, store_->DeletePinned(dead));
  return static_cast<int>(dead.size() - changed.size());
}

Result<std::optional<LeaseRecord>> LeaseManager::LiveHolder(const std::string& lock) {
  const std::string key = LeaseKey(lock);
  auto text = store_->Read(key);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::optional<LeaseRecord>();
    return text.status();
  }
  auto rec = LeaseRecord::FromJson(*text);
  if (!rec.ok() || rec->owner.run_id == self_.run_id || !Live(*rec)) {
    return std::optional<LeaseRecord>();
  }
  return std::optional<LeaseRecord>(*rec);
}

Result<std::unique_ptr<RunGuard>> RunGuard::Acquire(std::shared_ptr<ObjectStore> store,
                                                    const Owner& self, const Liveness& liveness,
                                                    int64_t ttl_ms) {
  LeaseRecord me;
  me.lock = "run";
  me.owner = self;
  me.expires_ms = liveness.now_ms() + ttl_ms;
  const std::string key = std::string(kRunPrefix) + self.run_id;
  LP_RETURN_IF_ERROR(store->Write(key, me.ToJson()).status().WithContext("run registry"));
  std::unique_ptr<RunGuard> guard(new RunGuard(store, key));
  LP_ASSIGN_OR_RETURN(auto runs, store->ListAll(kRunPrefix));
  std::vector<std::string> stale;
  for (const auto& r : runs) {
    if (r.key == key) continue;
    auto text = store->Read(r.key);
    if (!text.ok()) continue;  // gone meanwhile
    auto other = LeaseRecord::FromJson(*text);
    if (other.ok() && liveness.Live(*other)) {
      return Status::FailedPrecondition(fmt::format(
          "{}: another lakepack {} is using this destination, and this endpoint does not "
          "honour create-only writes, so lakepack runs one at a time here; nothing was done",
          store->Uri(), other->owner.Describe()));
    }
    stale.push_back(r.key);
  }
  if (!stale.empty()) (void)store->Delete(stale);
  return guard;
}

RunGuard::~RunGuard() { (void)store_->Delete({key_}); }

}  // namespace lakepack
