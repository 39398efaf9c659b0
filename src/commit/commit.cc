// The commit protocol (see commit.h).
#include "commit/commit.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/crash_point.h"
#include "lakepack/uri.h"

namespace lakepack {

namespace {

using nlohmann::json;

std::string BaseName(const std::string& key) {
  auto slash = key.rfind('/');
  return slash == std::string::npos ? key : key.substr(slash + 1);
}

std::string RecordKey(const std::string& task_id) {
  return std::string(kJournalPrefix) + task_id + ".json";
}

json InputToJson(const CommitInput& in) {
  return {{"key", in.key}, {"size", in.size}, {"etag", in.etag}};
}

// A record is read strictly: recovery deletes what a record names, so a record edited by hand
// or cut short must be refused (naming the field), never read with guessed values.
Status Field(const json& j, const char* name, std::string& out, bool required) {
  if (!j.contains(name)) {
    return required ? Status::Corruption(fmt::format("journal record lacks '{}'", name))
                    : Status::OK();
  }
  if (!j[name].is_string()) {
    return Status::Corruption(fmt::format("journal record field '{}' is not a string", name));
  }
  out = j[name].get<std::string>();
  if (required && out.empty()) {
    return Status::Corruption(fmt::format("journal record field '{}' is empty", name));
  }
  return Status::OK();
}

Status Field(const json& j, const char* name, int64_t& out) {
  if (!j.contains(name)) return Status::OK();
  if (!j[name].is_number_integer()) {
    return Status::Corruption(fmt::format("journal record field '{}' is not a whole number", name));
  }
  out = j[name].get<int64_t>();
  return Status::OK();
}

Result<CommitInput> InputFromJson(const json& j, bool required) {
  CommitInput in;
  if (!j.is_object())
    return Status::Corruption("journal record holds an input that is not an object");
  LP_RETURN_IF_ERROR(Field(j, "key", in.key, required));
  LP_RETURN_IF_ERROR(Field(j, "size", in.size));
  LP_RETURN_IF_ERROR(Field(j, "etag", in.etag, false));
  return in;
}

Result<const json*> ArrayField(const json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_array()) {
    return Status::Corruption(fmt::format("journal record field '{}' is not a list", name));
  }
  return &j[name];
}

}  // namespace

Committer::Committer(std::shared_ptr<ObjectStore> dst, std::shared_ptr<ObjectStore> inputs)
    : dst_(std::move(dst)), inputs_(std::move(inputs)) {}

std::string Committer::ToJson(const CommitRecord& r) {
  json j;
  j["task_id"] = r.task_id;
  j["command"] = r.command;
  j["input_root"] = r.input_root;
  j["state"] = r.state;
  j["inputs"] = json::array();
  for (auto& in : r.inputs) j["inputs"].push_back(InputToJson(in));
  j["outputs"] = json::array();
  for (auto& o : r.outputs) {
    j["outputs"].push_back({{"final_key", o.final_key},
                            {"staging_key", o.staging_key},
                            {"rows", o.rows},
                            {"size", o.size},
                            {"etag", o.etag},
                            {"replaces", InputToJson(o.replaces)}});
  }
  return j.dump(1);
}

Result<CommitRecord> Committer::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("journal record is not JSON");
  if (!j.is_object()) return Status::Corruption("journal record is not a JSON object");
  CommitRecord r;
  LP_RETURN_IF_ERROR(Field(j, "task_id", r.task_id, true));
  LP_RETURN_IF_ERROR(Field(j, "command", r.command, false));
  LP_RETURN_IF_ERROR(Field(j, "input_root", r.input_root, false));
  LP_RETURN_IF_ERROR(Field(j, "state", r.state, true));
  if (r.state != "intent" && r.state != "committed") {
    return Status::Corruption(
        fmt::format("journal record state '{}' is neither 'intent' nor 'committed'", r.state));
  }
  LP_ASSIGN_OR_RETURN(const json* inputs, ArrayField(j, "inputs"));
  for (auto& in : *inputs) {
    LP_ASSIGN_OR_RETURN(CommitInput input, InputFromJson(in, true));
    r.inputs.push_back(std::move(input));
  }
  LP_ASSIGN_OR_RETURN(const json* outputs, ArrayField(j, "outputs"));
  // Every task writes at least one output: a record without one would only delete inputs.
  if (outputs->empty()) return Status::Corruption("journal record lists no outputs");
  const std::string staging = std::string(kStagingPrefix) + r.task_id + "/";
  for (auto& o : *outputs) {
    if (!o.is_object()) {
      return Status::Corruption("journal record holds an output that is not an object");
    }
    CommitOutput out;
    LP_RETURN_IF_ERROR(Field(o, "final_key", out.final_key, true));
    LP_RETURN_IF_ERROR(Field(o, "staging_key", out.staging_key, true));
    if (out.staging_key.rfind(staging, 0) != 0) {
      return Status::Corruption(fmt::format(
          "journal record output staging_key '{}' is not under {}", out.staging_key, staging));
    }
    LP_RETURN_IF_ERROR(Field(o, "rows", out.rows));
    LP_RETURN_IF_ERROR(Field(o, "size", out.size));
    LP_RETURN_IF_ERROR(Field(o, "etag", out.etag, false));
    if (o.contains("replaces")) {
      LP_ASSIGN_OR_RETURN(out.replaces, InputFromJson(o["replaces"], false));
    }
    r.outputs.push_back(std::move(out));
  }
  return r;
}

Status Committer::WriteRecord(const CommitRecord& record) {
  auto res = dst_->Write(RecordKey(record.task_id), ToJson(record));
  return res.status().WithContext("journal");
}

Status Committer::Begin(CommitRecord& record) {
  if (record.input_root.empty()) record.input_root = inputs_->Uri();
  for (auto& o : record.outputs) {
    o.staging_key = std::string(kStagingPrefix) + record.task_id + "/" + BaseName(o.final_key);
  }
  record.state = "intent";
  LP_RETURN_IF_ERROR(WriteRecord(record));
  CrashPoint("journal-intent");
  return Status::OK();
}

Status Committer::Stage(CommitRecord& record, size_t index, const std::string& local_path) {
  CommitOutput& o = record.outputs.at(index);
  PutOptions put;
  put.consume_source = false;
  LP_ASSIGN_OR_RETURN(ObjectInfo info, dst_->WriteFromFile(o.staging_key, local_path, put));
  CrashPoint("staged");
  // Read back what the store holds: the size must be the local file's.
  LP_ASSIGN_OR_RETURN(auto stat, dst_->Stat(o.staging_key));
  if (!stat || stat->size != info.size) {
    return Status::Corruption(fmt::format("{}: staged output has {} bytes, expected {}",
                                          dst_->UriOf(o.staging_key), stat ? stat->size : -1,
                                          info.size));
  }
  o.size = info.size;
  o.etag = stat->etag;
  return Status::OK();
}

Status Committer::Commit(CommitRecord& record) {
  // The targets a task merges must be as planned: otherwise someone changed them meanwhile
  // and publishing would drop their new rows.
  for (const auto& o : record.outputs) {
    LP_ASSIGN_OR_RETURN(auto now, dst_->Stat(o.final_key));
    bool expected_absent = o.replaces.key.empty();
    if (expected_absent && now) {
      return Status::FailedPrecondition(fmt::format(
          "{}: appeared while the task ran; not overwriting it", dst_->UriOf(o.final_key)));
    }
    if (!expected_absent && (!now || now->etag != o.replaces.etag)) {
      return Status::FailedPrecondition(fmt::format(
          "{}: changed while the task ran; not replacing it", dst_->UriOf(o.final_key)));
    }
  }
  CrashPoint("verified");
  record.state = "committed";
  LP_RETURN_IF_ERROR(WriteRecord(record));
  CrashPoint("committed");
  return Status::OK();
}

Status Committer::Publish(const CommitRecord& record) {
  for (const auto& o : record.outputs) {
    Status st = dst_->Copy(o.staging_key, o.final_key);
    if (st.IsNotFound()) {
      // A crash after the staged objects were deleted: the outputs were published before.
      LP_ASSIGN_OR_RETURN(auto fin, dst_->Stat(o.final_key));
      if (fin && fin->size == o.size) continue;
      return Status::Corruption(
          fmt::format("{}: staged output {} is gone and the published object does not match; "
                      "journal record {} kept for inspection",
                      dst_->UriOf(o.final_key), o.staging_key, RecordKey(record.task_id)));
    }
    LP_RETURN_IF_ERROR(st);
    LP_ASSIGN_OR_RETURN(auto fin, dst_->Stat(o.final_key));
    if (!fin || fin->size != o.size) {
      return Status::Corruption(fmt::format("{}: published object has {} bytes, expected {}",
                                            dst_->UriOf(o.final_key), fin ? fin->size : -1,
                                            o.size));
    }
    CrashPoint("published");
  }
  std::vector<std::string> keys;
  for (const auto& in : record.inputs) {
    // An input that is also an output (a target merged into itself) must stay.
    bool is_output = false;
    for (const auto& o : record.outputs) is_output |= o.final_key == in.key;
    if (!is_output) keys.push_back(in.key);
  }
  if (!keys.empty()) {
    LP_ASSIGN_OR_RETURN(auto in_store, InputStoreFor(record));
    LP_RETURN_IF_ERROR(in_store->Delete(keys));
  }
  CrashPoint("inputs-deleted");
  std::vector<std::string> staged;
  for (const auto& o : record.outputs) staged.push_back(o.staging_key);
  LP_RETURN_IF_ERROR(dst_->Delete(staged));
  CrashPoint("staging-deleted");
  LP_RETURN_IF_ERROR(dst_->Delete({RecordKey(record.task_id)}));
  CrashPoint("journal-dropped");
  return Status::OK();
}

Status Committer::Abort(const CommitRecord& record) {
  std::vector<std::string> keys;
  for (const auto& o : record.outputs) {
    if (!o.staging_key.empty()) keys.push_back(o.staging_key);
  }
  keys.push_back(RecordKey(record.task_id));
  return dst_->Delete(keys);
}

Result<std::shared_ptr<ObjectStore>> Committer::InputStoreFor(const CommitRecord& record) {
  if (record.input_root.empty() || record.input_root == inputs_->Uri()) return inputs_;
  return OpenStore(record.input_root);
}

Result<RecoveryReport> Committer::Recover() {
  RecoveryReport report;
  LP_ASSIGN_OR_RETURN(auto objects, dst_->ListAll(kJournalPrefix));
  // Every record is read and checked before any is acted on: one that cannot be trusted stops
  // recovery with nothing deleted.
  std::vector<std::pair<std::string, CommitRecord>> records;
  for (const auto& obj : objects) {
    if (obj.key.size() < 5 || obj.key.compare(obj.key.size() - 5, 5, ".json") != 0) continue;
    LP_ASSIGN_OR_RETURN(std::string text, dst_->Read(obj.key));
    auto record = FromJson(text);
    if (!record.ok()) return record.status().WithContext(dst_->UriOf(obj.key));
    if (RecordKey(record->task_id) != obj.key) {
      return Status::Corruption(fmt::format("{}: journal record is for task '{}', not this name",
                                            dst_->UriOf(obj.key), record->task_id));
    }
    records.emplace_back(obj.key, std::move(*record));
  }
  for (const auto& [key, record] : records) {
    if (record.state == "committed") {
      LP_RETURN_IF_ERROR(Publish(record).WithContext("recovering " + dst_->UriOf(key)));
      report.rolled_forward++;
    } else {
      LP_RETURN_IF_ERROR(Abort(record).WithContext("rolling back " + dst_->UriOf(key)));
      report.rolled_back++;
    }
  }
  // Staged objects without a record (a crash between staging and writing... cannot happen as
  // records come first, but an interrupted Abort can leave them): remove them.
  LP_ASSIGN_OR_RETURN(auto staged, dst_->ListAll(kStagingPrefix));
  std::vector<std::string> orphans;
  for (const auto& s : staged) {
    std::string rest = s.key.substr(kStagingPrefix.size());
    std::string task = rest.substr(0, rest.find('/'));
    LP_ASSIGN_OR_RETURN(auto rec, dst_->Stat(RecordKey(task)));
    if (!rec) orphans.push_back(s.key);
  }
  if (!orphans.empty()) LP_RETURN_IF_ERROR(dst_->Delete(orphans));
  return report;
}

}  // namespace lakepack
