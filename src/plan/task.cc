// Task ids and shards (see task.h).
#include "plan/task.h"

#include <fmt/format.h>

#include "common/strings.h"

namespace lakepack {

std::string TaskId(const Task& task) {
  // Fields are separated by a byte that keys cannot hold, so "a"+"bc" and "ab"+"c" differ.
  std::string text = task.command;
  auto add = [&](std::string_view s) {
    text += '\0';
    text += s;
  };
  for (const auto& o : task.outputs) {
    add("out");
    add(o.key);
    add(o.replaces ? o.replaces->etag : "-");
  }
  for (const auto& in : task.inputs) {
    add("in");
    add(in.key);
    add(in.etag);
  }
  for (const auto& in : task.reads) {
    add("read");
    add(in.key);
    add(in.etag);
  }
  for (const auto& l : task.locks) {
    add("lock");
    add(l);
  }
  return fmt::format("{:016x}", Fnv1a(text));
}

const std::string& EffectiveShardKey(const Task& task) {
  return task.shard_key.empty() ? task.id : task.shard_key;
}

int ShardOfKey(std::string_view shard_key, int count) {
  if (count <= 1) return 0;
  return static_cast<int>(Fnv1a(shard_key) % static_cast<uint64_t>(count));
}

int ShardOf(const Task& task, int count) { return ShardOfKey(EffectiveShardKey(task), count); }

Status CheckShard(int index, int count) {
  if (count < 1 || index < 0 || index >= count) {
    return Status::InvalidArgument("--shard: expected i/N with 0 <= i < N");
  }
  return Status::OK();
}

}  // namespace lakepack
