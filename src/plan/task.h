// Task: one unit of work of any command, what LevelDB's Compaction is to a compaction. A job's
// planner makes tasks from a listing; the engine (exec/job_runner.h) claims, builds and commits
// each one through a Transaction (commit/transaction.h). A task says everything the commit
// needs to check: the inputs with the ETags it read, the outputs with what each may replace,
// and the locks that keep two runs off the same keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

//! One output of a task.
struct TaskOutput {
  std::string key;  // final key in the destination store
  //! The object this output replaces (a merge target or an output being topped up), with
  //! the ETag it had when planned; std::nullopt: the key must not exist.
  std::optional<ObjectInfo> replaces;
  int64_t rows = -1;  // rows it must hold; -1 until built
};

struct Task {
  //! Stable over builds and machines (FNV-1a of the command, the outputs and the inputs with
  //! their ETags): the journal record, the leases and the write tags carry it.
  std::string id;
  std::string command;  // "rollup", "pack", "export"
  //! What a log line calls the task (usually the first output's URI or a table).
  std::string label;
  //! Read, and deleted once the outputs are visible (ETag-pinned: a changed input is never
  //! deleted). Read-only inputs (pack without --delete-inputs) go in `reads`.
  std::vector<ObjectInfo> inputs;
  std::vector<ObjectInfo> reads;
  //! Known when planning (rollup: one), or filled by the build (pack: the cut decides).
  std::vector<TaskOutput> outputs;
  //! Names that no two live tasks may hold at once: every key the task writes or deletes that
  //! another task could also write or delete (outputs, inputs that are another task's output,
  //! or a whole output series). The engine takes one lease per lock.
  std::vector<std::string> locks;
  //! What the shard split hashes: stable across listings (the first output key or the series).
  std::string shard_key;
  int64_t input_bytes = 0;
  int64_t input_rows = -1;  // where footers tell; -1 unknown
};

//! The tasks of one level of a job, in a deterministic order.
struct Plan {
  std::vector<Task> tasks;
  //! URIs the planner left alone, and why.
  std::vector<std::string> stray;
  std::string stray_reason = "does not fit the layout";
  //! What the user must be told about the plan (PlanSink::Note).
  std::vector<std::string> notes;
};

//! The task id: 16 hex digits of FNV-1a over the command, each output key (and the ETag it
//! replaces) and each input key with its ETag, in order.
std::string TaskId(const Task& task);

//! Which of `count` shards owns the task: a stable hash of its shard_key, so that workers that
//! listed at different moments still split the same tasks the same way.
int ShardOf(const Task& task, int count);
//! The same for a task's effective shard key (its shard_key, or its id when that is empty).
int ShardOfKey(std::string_view shard_key, int count);
//! The key ShardOf hashes.
const std::string& EffectiveShardKey(const Task& task);
//! InvalidArgument unless 0 <= index < count (a shard i/N given to a library call).
Status CheckShard(int index, int count);

}  // namespace lakepack
