// The commit protocol: the one place that makes outputs visible and deletes inputs, so that a
// crash at any instant loses no row and duplicates none.
//
// For each task:
//   1. Begin:    write an intent record to the journal (_lakepack/journal/<task>.json in the
//                destination store): inputs with ETags, outputs, rows expected.
//   2. Stage:    upload each output to a staging key (_lakepack/staging/<task>/...), never
//                to its final key.
//   3. Verify:   the caller has checked the local file's rows; Stage checks that the staged
//                object has the local file's size (and MD5 where the ETag is one).
//   4. Commit:   rewrite the record as committed. This is the point of no return.
//   5. Publish:  copy each staged object to its final key, check it, delete the inputs,
//                delete the staged objects, and drop the record.
// Recovery (at the start of every command, and `lakepack recover`) rolls every intent record
// back (deletes its staged objects; inputs and targets were never touched) and rolls every
// committed record forward (redoes step 5, which is idempotent).
//
// Nothing here relies on conditional writes, so it is as safe on endpoints that ignore
// If-None-Match (s3rver) as on AWS. What it does assume: one lakepack run at a time per
// destination (see docs/commit-protocol.md).
// Thread-safety: a Committer may be used from many threads for different tasks.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

inline constexpr std::string_view kJournalPrefix = "_lakepack/journal/";
inline constexpr std::string_view kStagingPrefix = "_lakepack/staging/";
//! Keys under this prefix belong to lakepack and are never inputs.
inline constexpr std::string_view kLakepackPrefix = "_lakepack/";

struct CommitInput {
  std::string key;
  int64_t size = 0;
  std::string etag;
};

struct CommitOutput {
  std::string final_key;
  std::string staging_key;  // filled by Begin
  int64_t rows = 0;         // rows the output must hold
  int64_t size = 0;         // filled by Stage
  std::string etag;         // of the staged object, filled by Stage
  //! The object this output replaces (a merge target), as seen when planning; empty key when
  //! the output is new. Publishing refuses when the target changed since.
  CommitInput replaces;
};

struct CommitRecord {
  std::string task_id;  // unique per task and deterministic for the plan
  std::string command;  // "rollup", "pack", ...
  //! The store the inputs live in, as a URI (may differ from the destination).
  std::string input_root;
  std::vector<CommitInput> inputs;  // deleted once the outputs are published
  std::vector<CommitOutput> outputs;
  std::string state = "intent";  // "intent" or "committed"
};

//! What recovery did.
struct RecoveryReport {
  int rolled_back = 0;
  int rolled_forward = 0;
};

class Committer {
 public:
  //! `dst` holds outputs and the journal; `inputs` holds the inputs (may be the same store).
  Committer(std::shared_ptr<ObjectStore> dst, std::shared_ptr<ObjectStore> inputs);

  //! Step 1. Fills each output's staging_key and writes the intent record.
  Status Begin(CommitRecord& record);
  //! Step 2 and 3 for output `index`: uploads `local_path` to its staging key and checks it.
  Status Stage(CommitRecord& record, size_t index, const std::string& local_path);
  //! Step 4: the record becomes committed; from here on the task will be finished.
  Status Commit(CommitRecord& record);
  //! Step 5: publishes the outputs, deletes the inputs and the staged objects, drops the
  //! record.
  Status Publish(const CommitRecord& record);
  //! Rolls back a task that failed before Commit: deletes its staged objects and its record.
  Status Abort(const CommitRecord& record);

  //! Finishes or rolls back every task in the journal. `open_inputs` opens a record's input
  //! store by URI when it is not this Committer's input store.
  Result<RecoveryReport> Recover();

  //! Serialisation, exposed for tests.
  static std::string ToJson(const CommitRecord& record);
  static Result<CommitRecord> FromJson(const std::string& json);

 private:
  Status WriteRecord(const CommitRecord& record);
  Result<std::shared_ptr<ObjectStore>> InputStoreFor(const CommitRecord& record);

  std::shared_ptr<ObjectStore> dst_;
  std::shared_ptr<ObjectStore> inputs_;
};

}  // namespace lakepack
