// The commit protocol: the one place that makes outputs visible and deletes inputs, so that a
// crash at any instant, or a second run at the same time, loses no row and duplicates none.
// docs/commit-protocol.md lists every state a task can be left in and how recovery ends it.
//
// One task, through a Transaction (RAII: it rolls back unless Commit succeeded):
//   0. The engine holds the task's leases (commit/lease.h); the job has built its outputs as
//      local files from inputs read pinned to their planned ETags.
//   1. CheckPlanned: every input and every replaced target still has its planned ETag, every
//      new output's key is free. Nothing was written yet: a stale task just stops. Read-only
//      inputs are checked where they are read: a download is pinned to the ETag, and inputs
//      read in place (local files) are asked after the build.
//   2. Intent:   _lakepack/journal/<task>.json names the inputs (key, ETag), the outputs (key,
//                the ETag each replaces or "must not exist", size, rows), the locks, the lease
//                generation and the write tag "<task>.<generation>".
//   3. Write:    each output goes straight to its final key, once, tagged: new outputs first,
//                create-only (If-None-Match: *); then the one output that replaces a target,
//                conditional on the target's planned ETag (If-Match). That last write is the
//                commit point. A task that replaces more than one target stages those
//                replacements under _lakepack/staging/<task>/ instead and copies them after 4.
//   4. Committed: the record is rewritten with state "committed" (after a renew that proves
//                the leases are still this run's).
//   5. Finish:   ledger documents carried in the record (pack's manifest) are written; the
//                inputs are deleted, each pinned to its planned ETag (an input rewritten
//                since is left, with its new rows, and reported), then the record is dropped.
// Recovery looks at a record whose owner is dead and, with one Stat per output (the write
// tag), tells which side of the commit point the task is on: before it, it deletes what the
// task wrote (only objects bearing its tag) and the record; after it, it does step 5.
//
// Thread-safety: a Committer may be used from many threads for different tasks.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commit/lease.h"
#include "lakepack/object_store.h"
#include "lakepack/status.h"
#include "plan/task.h"

namespace lakepack {

inline constexpr std::string_view kJournalPrefix = "_lakepack/journal/";
inline constexpr std::string_view kStagingPrefix = "_lakepack/staging/";
//! Keys under this prefix belong to lakepack and are never inputs.
inline constexpr std::string_view kLakepackPrefix = "_lakepack/";
//! Where the S3 store writes its capability probes (store/s3/s3_store.cc).
inline constexpr std::string_view kProbePrefix = "_lakepack/probe/";

struct JournalInput {
  std::string key;
  int64_t size = 0;
  std::string etag;
};

struct JournalOutput {
  std::string key;
  //! The ETag of the target this output replaces; empty: the key must not exist.
  std::string replaces_etag;
  bool replaces = false;
  //! Written to staging_key first and copied to key after the commit (multi-target tasks and
  //! records of lakepack before the one-write protocol).
  std::string staging_key;
  int64_t rows = 0;
  int64_t size = 0;
  //! FNV-1a of the content, for stores that keep no write tags (then recovery reads it back).
  std::string content_hash;
};

//! A small document that becomes visible with a task's outputs (a manifest, a checkpoint): it
//! travels inside the journal record, so recovery can write it too.
struct LedgerDoc {
  std::string key;
  std::string data;
};

struct JournalRecord {
  int version = 2;
  std::string task_id;
  std::string command;
  //! The store the inputs live in, as a URI (may differ from the destination).
  std::string input_root;
  std::string state = "intent";  // "intent" or "committed"
  std::string owner;             // run id
  int64_t generation = 1;
  std::vector<std::string> locks;
  std::vector<JournalInput> inputs;  // deleted once the outputs are visible
  std::vector<JournalOutput> outputs;
  std::vector<LedgerDoc> ledger;

  //! What every output of the task carries in its tag.
  std::string WriteTag() const;

  std::string ToJson() const;
  //! Strict: a record edited by hand or cut short is refused, naming the field.
  static Result<JournalRecord> FromJson(const std::string& json);
};

//! What recovery did.
struct RecoveryReport {
  int rolled_back = 0;
  int rolled_forward = 0;
  int live = 0;  // records of live runs, left alone
  //! Inputs left in place because they changed after their task's commit point (their new
  //! rows are not in the outputs), one line each.
  std::vector<std::string> changed_inputs;
  int uploads_aborted = 0;
};

//! A finished local file that becomes one output of a task.
struct LocalOutput {
  std::string key;
  std::string local_path;
  int64_t rows = 0;
  //! The target it replaces, as planned; std::nullopt: new.
  std::optional<ObjectInfo> replaces;
  //! User metadata written with it (PutOptions::metadata; lakepack watch's source name and
  //! MD5). Not kept through staging: a task whose outputs carry metadata replaces one target.
  std::vector<std::pair<std::string, std::string>> metadata;
};

class Transaction;

class Committer {
 public:
  //! `dst` holds outputs, journal and leases; `inputs` holds the inputs (may be the same).
  //! `leases` may be null (then no lease is checked: single-run stores, tests).
  Committer(std::shared_ptr<ObjectStore> dst, std::shared_ptr<ObjectStore> inputs,
            LeaseManager* leases);

  //! Starts a transaction for `task`, whose leases are `held` (may be null with no manager).
  std::unique_ptr<Transaction> Begin(const Task& task, HeldLeases* held);

  //! Finishes or rolls back every record in the journal whose owner is not alive (records of
  //! live runs are left to them).
  Result<RecoveryReport> Recover();
  //! Recovers the record of one task, if there is one (a lease taken over from a dead run
  //! named it). The caller holds `held`, which covers some of the record's locks; the others
  //! are claimed here.
  Status RecoverTask(const std::string& task_id, RecoveryReport& report);

  ObjectStore& dst() { return *dst_; }
  ObjectStore& inputs() { return *inputs_; }

 private:
  friend class Transaction;
  Status WriteRecord(const JournalRecord& record);
  Result<std::shared_ptr<ObjectStore>> InputStoreFor(const JournalRecord& record);
  //! Whether output `o` of `record` is at its final key (by its tag, or its content hash).
  Result<bool> Written(const JournalRecord& record, const JournalOutput& o);
  Status RecoverRecord(const JournalRecord& record, RecoveryReport& report);
  //! Steps 5 (copies of staged outputs, pinned deletes, record dropped).
  Status RollForward(const JournalRecord& record, std::vector<std::string>& changed);
  Status RollBack(const JournalRecord& record);
  Status AbortUploads(const JournalRecord& record, int* aborted);

  std::shared_ptr<ObjectStore> dst_;
  std::shared_ptr<ObjectStore> inputs_;
  LeaseManager* leases_;
  StoreCapabilities caps_;
};

//! One task's commit. Destroying it before Commit() succeeded rolls back everything it wrote.
class Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  //! When step 1 runs: before the build, and again after it.
  enum class Check { kBeforeBuild, kAfterBuild };
  //! Whether the build itself proved an input as planned: a download pinned to its ETag.
  using VerifiedByBuild = std::function<bool(const ObjectInfo&)>;
  //! Step 1: the inputs and targets are still as planned. NotFound when an input is gone
  //! (another run merged it), FailedPrecondition when one changed. Before the build it asks
  //! about the targets and the inputs to delete that the store keeps as local files (a
  //! remote input is downloaded pinned to its ETag, which asks the same question later and
  //! costs no request); after it, about the inputs read in place and the inputs to delete
  //! that `verified` does not vouch for, and the targets. One CurrentEtag per object.
  Status CheckPlanned(Check when = Check::kBeforeBuild, const VerifiedByBuild& verified = {});
  //! During the build, for new output `key` whose file the build is writing at `local_path`:
  //! where the store can (ObjectStore::BeginFollowingUpload), the file's bytes go up while it
  //! grows, and Commit completes that upload in place of writing the file (the same commit
  //! point, the same create-only condition). The first call writes the intent record, naming
  //! the planned outputs, before anything is sent: a crash from there on is rolled back by
  //! recovery, which aborts the upload. Returns whether the output is followed.
  Result<bool> Follow(const std::string& key, const std::string& local_path, int64_t expected_size);
  //! Steps 2-4. After it returns OK the task will complete: Finish, or the next recovery.
  Status Commit(const std::vector<LocalOutput>& outputs, const std::vector<LedgerDoc>& ledger = {});
  //! Step 5. `changed` receives the inputs left in place because they changed.
  Status Finish(std::vector<std::string>& changed);

  bool committed() const { return committed_; }
  const JournalRecord& record() const { return record_; }
  //! What the outputs are now (keys, sizes, ETags), after Commit.
  const std::vector<ObjectInfo>& written() const { return written_; }

 private:
  friend class Committer;
  Transaction(Committer& c, const Task& task, HeldLeases* held);
  Status Renew();
  void Abort();

  Committer& c_;
  const Task& task_;
  HeldLeases* held_;
  JournalRecord record_;
  bool intent_written_ = false;
  //! Follow's uploads by output key, with the file each follows.
  std::map<std::string, std::pair<std::string, std::unique_ptr<FollowingUpload>>> followed_;
  bool committed_ = false;
  bool finished_ = false;
  std::vector<ObjectInfo> written_;
};

}  // namespace lakepack
