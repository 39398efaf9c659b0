// The commit protocol (see commit.h and docs/commit-protocol.md).
#include "commit/commit.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/crash_point.h"
#include "common/parallel.h"
#include "common/process_tag.h"
#include "common/strings.h"
#include "lakepack/uri.h"
#include "store/local_store.h"

namespace lakepack {

namespace {

using nlohmann::json;

std::string RecordKey(const std::string& task_id) {
  return std::string(kJournalPrefix) + task_id + ".json";
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

template <typename Int>
Status Field(const json& j, const char* name, Int& out) {
  if (!j.contains(name)) return Status::OK();
  if (!j[name].is_number_integer()) {
    return Status::Corruption(fmt::format("journal record field '{}' is not a whole number", name));
  }
  out = j[name].get<Int>();
  return Status::OK();
}

Result<const json*> ArrayField(const json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_array()) {
    return Status::Corruption(fmt::format("journal record field '{}' is not a list", name));
  }
  return &j[name];
}

// FNV-1a of a file's bytes, streamed.
Result<std::string> HashFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IOError(path + ": cannot be read to hash it");
  uint64_t h = kFnv1aOffset;
  std::vector<char> buf(1 << 20);
  while (f) {
    f.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    h = Fnv1a(std::string_view(buf.data(), static_cast<size_t>(f.gcount())), h);
  }
  return fmt::format("{:016x}", h);
}

std::string HashBytes(std::string_view data) { return fmt::format("{:016x}", Fnv1a(data)); }

}  // namespace

std::string JournalRecord::WriteTag() const { return fmt::format("{}.{}", task_id, generation); }

std::string JournalRecord::ToJson() const {
  json j;
  j["version"] = version;
  j["task_id"] = task_id;
  j["command"] = command;
  j["input_root"] = input_root;
  j["state"] = state;
  j["owner"] = owner;
  j["generation"] = generation;
  j["locks"] = locks;
  j["inputs"] = json::array();
  for (auto& in : inputs) {
    j["inputs"].push_back({{"key", in.key}, {"size", in.size}, {"etag", in.etag}});
  }
  j["outputs"] = json::array();
  for (auto& o : outputs) {
    json out{{"key", o.key}, {"rows", o.rows}, {"size", o.size}};
    if (o.replaces) out["replaces_etag"] = o.replaces_etag;
    if (!o.staging_key.empty()) out["staging_key"] = o.staging_key;
    if (!o.content_hash.empty()) out["content_hash"] = o.content_hash;
    j["outputs"].push_back(std::move(out));
  }
  if (!ledger.empty()) {
    j["ledger"] = json::array();
    for (auto& d : ledger) j["ledger"].push_back({{"key", d.key}, {"data", d.data}});
  }
  return j.dump(1);
}

Result<JournalRecord> JournalRecord::FromJson(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("journal record is not JSON");
  if (!j.is_object()) return Status::Corruption("journal record is not a JSON object");
  JournalRecord r;
  r.version = 1;  // records without a version are lakepack's staged-copy protocol
  LP_RETURN_IF_ERROR(Field(j, "version", r.version));
  LP_RETURN_IF_ERROR(Field(j, "task_id", r.task_id, true));
  LP_RETURN_IF_ERROR(Field(j, "command", r.command, false));
  LP_RETURN_IF_ERROR(Field(j, "input_root", r.input_root, false));
  LP_RETURN_IF_ERROR(Field(j, "state", r.state, true));
  LP_RETURN_IF_ERROR(Field(j, "owner", r.owner, false));
  LP_RETURN_IF_ERROR(Field(j, "generation", r.generation));
  if (r.state != "intent" && r.state != "committed") {
    return Status::Corruption(
        fmt::format("journal record state '{}' is neither 'intent' nor 'committed'", r.state));
  }
  if (j.contains("locks")) {
    LP_ASSIGN_OR_RETURN(const json* locks, ArrayField(j, "locks"));
    for (auto& l : *locks) {
      if (!l.is_string()) return Status::Corruption("journal record lock is not a string");
      r.locks.push_back(l.get<std::string>());
    }
  }
  LP_ASSIGN_OR_RETURN(const json* inputs, ArrayField(j, "inputs"));
  for (auto& in : *inputs) {
    if (!in.is_object()) {
      return Status::Corruption("journal record holds an input that is not an object");
    }
    JournalInput input;
    LP_RETURN_IF_ERROR(Field(in, "key", input.key, true));
    LP_RETURN_IF_ERROR(Field(in, "size", input.size));
    LP_RETURN_IF_ERROR(Field(in, "etag", input.etag, false));
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
    JournalOutput out;
    LP_RETURN_IF_ERROR(Field(o, r.version == 1 ? "final_key" : "key", out.key, true));
    LP_RETURN_IF_ERROR(Field(o, "staging_key", out.staging_key, r.version == 1));
    if (!out.staging_key.empty() && out.staging_key.rfind(staging, 0) != 0) {
      return Status::Corruption(fmt::format(
          "journal record output staging_key '{}' is not under {}", out.staging_key, staging));
    }
    LP_RETURN_IF_ERROR(Field(o, "rows", out.rows));
    LP_RETURN_IF_ERROR(Field(o, "size", out.size));
    LP_RETURN_IF_ERROR(Field(o, "content_hash", out.content_hash, false));
    if (o.contains("replaces_etag")) {
      out.replaces = true;
      LP_RETURN_IF_ERROR(Field(o, "replaces_etag", out.replaces_etag, false));
    }
    if (r.version == 1 && o.contains("replaces") && o["replaces"].is_object()) {
      std::string key;
      LP_RETURN_IF_ERROR(Field(o["replaces"], "key", key, false));
      if (!key.empty()) {
        out.replaces = true;
        LP_RETURN_IF_ERROR(Field(o["replaces"], "etag", out.replaces_etag, false));
      }
    }
    r.outputs.push_back(std::move(out));
  }
  if (j.contains("ledger")) {
    LP_ASSIGN_OR_RETURN(const json* ledger, ArrayField(j, "ledger"));
    for (auto& d : *ledger) {
      if (!d.is_object()) return Status::Corruption("journal record ledger entry is not an object");
      LedgerDoc doc;
      LP_RETURN_IF_ERROR(Field(d, "key", doc.key, true));
      LP_RETURN_IF_ERROR(Field(d, "data", doc.data, false));
      r.ledger.push_back(std::move(doc));
    }
  }
  return r;
}

Committer::Committer(std::shared_ptr<ObjectStore> dst, std::shared_ptr<ObjectStore> inputs,
                     LeaseManager* leases)
    : dst_(std::move(dst)), inputs_(std::move(inputs)), leases_(leases) {
  caps_ = dst_->Capabilities();
}

std::unique_ptr<Transaction> Committer::Begin(const Task& task, HeldLeases* held) {
  return std::unique_ptr<Transaction>(new Transaction(*this, task, held));
}

Status Committer::WriteRecord(const JournalRecord& record) {
  auto res = dst_->Write(RecordKey(record.task_id), record.ToJson());
  return res.status().WithContext("journal");
}

Result<std::shared_ptr<ObjectStore>> Committer::InputStoreFor(const JournalRecord& record) {
  if (record.input_root.empty() || record.input_root == inputs_->Uri()) return inputs_;
  if (record.input_root == dst_->Uri()) return dst_;
  return OpenStore(record.input_root);
}

Result<bool> Committer::Written(const JournalRecord& record, const JournalOutput& o) {
  LP_ASSIGN_OR_RETURN(auto info, dst_->Stat(o.key));
  if (!info) return false;
  if (caps_.tags && !record.owner.empty()) return info->tag == record.WriteTag();
  if (o.content_hash.empty()) {
    // A version-1 record: only the size was kept.
    return info->size == o.size;
  }
  if (info->size != o.size) return false;
  LP_ASSIGN_OR_RETURN(std::string data, dst_->Read(o.key));
  return HashBytes(data) == o.content_hash;
}

Status Committer::AbortUploads(const JournalRecord& record, int* aborted) {
  for (const auto& o : record.outputs) {
    for (const std::string& key : {o.key, o.staging_key}) {
      if (key.empty()) continue;
      LP_ASSIGN_OR_RETURN(auto pending, dst_->ListPendingUploads(key));
      for (const auto& u : pending) {
        if (u.key != key) continue;
        LP_RETURN_IF_ERROR(dst_->AbortPendingUpload(u));
        if (aborted) (*aborted)++;
      }
    }
  }
  return Status::OK();
}

Status Committer::RollForward(const JournalRecord& record, std::vector<std::string>& changed) {
  for (const auto& o : record.outputs) {
    if (o.staging_key.empty()) continue;
    LP_ASSIGN_OR_RETURN(auto staged, dst_->Stat(o.staging_key));
    if (!staged) {
      // Copied before, and the staged object deleted: the final object must be it.
      LP_ASSIGN_OR_RETURN(auto fin, dst_->Stat(o.key));
      if (fin && fin->size == o.size) continue;
      return Status::Corruption(
          fmt::format("{}: staged output {} is gone and the published object does not match; "
                      "journal record {} kept for inspection",
                      dst_->UriOf(o.key), o.staging_key, RecordKey(record.task_id)));
    }
    LP_RETURN_IF_ERROR(dst_->Copy(o.staging_key, o.key));
    LP_ASSIGN_OR_RETURN(auto fin, dst_->Stat(o.key));
    if (!fin || fin->size != o.size) {
      return Status::Corruption(fmt::format("{}: published object has {} bytes, expected {}",
                                            dst_->UriOf(o.key), fin ? fin->size : -1, o.size));
    }
    CrashPoint("published");
  }
  for (const auto& d : record.ledger) {
    LP_RETURN_IF_ERROR(dst_->Write(d.key, d.data).status().WithContext("ledger"));
  }
  if (!record.ledger.empty()) CrashPoint("ledger-written");
  std::vector<std::pair<std::string, std::string>> doomed;
  for (const auto& in : record.inputs) {
    // An input that is also an output (a target merged into itself) must stay.
    bool is_output = false;
    for (const auto& o : record.outputs) is_output |= o.key == in.key;
    if (!is_output) doomed.emplace_back(in.key, in.etag);
  }
  if (!doomed.empty()) {
    LP_ASSIGN_OR_RETURN(auto in_store, InputStoreFor(record));
    LP_ASSIGN_OR_RETURN(auto kept, in_store->DeletePinned(doomed));
    for (const auto& k : kept) {
      changed.push_back(
          fmt::format("{}: changed after its rows were committed to {}; left in place with its new "
                      "content (its old rows are in the output, its new rows are not)",
                      in_store->UriOf(k), dst_->UriOf(record.outputs.front().key)));
    }
  }
  CrashPoint("inputs-deleted");
  std::vector<std::string> staged;
  for (const auto& o : record.outputs) {
    if (!o.staging_key.empty()) staged.push_back(o.staging_key);
  }
  if (!staged.empty()) LP_RETURN_IF_ERROR(dst_->Delete(staged));
  LP_RETURN_IF_ERROR(dst_->Delete({RecordKey(record.task_id)}));
  CrashPoint("journal-dropped");
  return Status::OK();
}

Status Committer::RollBack(const JournalRecord& record) {
  std::vector<std::string> keys;
  for (const auto& o : record.outputs) {
    if (!o.staging_key.empty()) keys.push_back(o.staging_key);
    // A new output the task wrote before its commit point: delete it (only if it is the
    // task's own write). A replaced target is never rolled back: its write is the commit
    // point, so a record that reaches here did not write it.
    if (o.staging_key.empty() && !o.replaces && record.version >= 2) {
      LP_ASSIGN_OR_RETURN(bool mine, Written(record, o));
      if (mine) keys.push_back(o.key);
    }
  }
  LP_RETURN_IF_ERROR(AbortUploads(record, nullptr));
  keys.push_back(RecordKey(record.task_id));
  return dst_->Delete(keys);
}

Status Committer::RecoverRecord(const JournalRecord& record, RecoveryReport& report) {
  bool forward = record.state == "committed";
  if (!forward && record.version >= 2) {
    bool staged = false;
    const JournalOutput* last = nullptr;  // the commit point's write
    for (const auto& o : record.outputs) {
      staged |= !o.staging_key.empty();
      if (o.replaces && o.staging_key.empty()) last = &o;
    }
    if (!staged) {
      if (last) {
        LP_ASSIGN_OR_RETURN(forward, Written(record, *last));
      } else {
        forward = true;
        for (const auto& o : record.outputs) {
          LP_ASSIGN_OR_RETURN(bool w, Written(record, o));
          forward &= w;
        }
      }
    }
  }
  int aborted = 0;
  LP_RETURN_IF_ERROR(AbortUploads(record, &aborted));
  report.uploads_aborted += aborted;
  if (forward) {
    LP_RETURN_IF_ERROR(RollForward(record, report.changed_inputs));
    report.rolled_forward++;
  } else {
    LP_RETURN_IF_ERROR(RollBack(record));
    report.rolled_back++;
  }
  return Status::OK();
}

Status Committer::RecoverTask(const std::string& task_id, RecoveryReport& report) {
  auto text = dst_->Read(RecordKey(task_id));
  if (!text.ok()) return text.status().IsNotFound() ? Status::OK() : text.status();
  LP_ASSIGN_OR_RETURN(JournalRecord record, JournalRecord::FromJson(*text));
  if (leases_) {
    // The caller holds some of the record's locks (as this run, which LiveHolder does not
    // count); any other lock of it held by a live run means that run is at work nearby.
    for (const auto& l : record.locks) {
      LP_ASSIGN_OR_RETURN(auto holder, leases_->LiveHolder(l));
      if (holder) {
        return Status::FailedPrecondition(fmt::format(
            "{}: an unfinished task of a dead run shares lock {} with a task of live {}; "
            "rerun when it is done",
            dst_->UriOf(RecordKey(task_id)), l, holder->owner.Describe()));
      }
    }
  }
  return RecoverRecord(record, report).WithContext("recovering " + dst_->UriOf(RecordKey(task_id)));
}

Result<RecoveryReport> Committer::Recover() {
  RecoveryReport report;
  // One listing of lakepack's own prefix serves the journal, the staging area and the leases:
  // recovery costs one LIST per run when there is nothing to recover.
  LP_ASSIGN_OR_RETURN(auto own, dst_->ListAll(kLakepackPrefix));
  std::vector<ObjectInfo> objects, staged, leases;
  std::vector<std::string> dead_probes;
  for (auto& o : own) {
    if (o.key.rfind(kProbePrefix, 0) == 0) {
      // A capability probe (s3_store.cc) whose process died before deleting it.
      std::string_view rest = std::string_view(o.key).substr(kProbePrefix.size());
      size_t dash = rest.rfind('-');
      if (dash != std::string_view::npos && IsDeadProcessHere(rest.substr(0, dash))) {
        dead_probes.push_back(o.key);
      }
      continue;
    }
    if (o.key.rfind(kJournalPrefix, 0) == 0) {
      objects.push_back(std::move(o));
    } else if (o.key.rfind(kStagingPrefix, 0) == 0) {
      staged.push_back(std::move(o));
    } else if (o.key.rfind(kLeasePrefix, 0) == 0) {
      leases.push_back(std::move(o));
    }
  }
  if (!dead_probes.empty()) (void)dst_->Delete(dead_probes);  // best effort, as the probe's own
  // Temp files of local writes a kill interrupted (hidden from the listing above).
  // (LocalPath takes a key, not a prefix: "_lakepack" names the directory.)
  const std::string_view own_dir = kLakepackPrefix.substr(0, kLakepackPrefix.size() - 1);
  if (auto local = dst_->LocalPath(own_dir)) SweepDeadTempFiles(*local);
  // Every record is read and checked before any is acted on: one that cannot be trusted stops
  // recovery with nothing deleted.
  std::vector<std::pair<std::string, JournalRecord>> records;
  for (const auto& obj : objects) {
    if (obj.key.size() < 5 || obj.key.compare(obj.key.size() - 5, 5, ".json") != 0) continue;
    auto text = dst_->Read(obj.key);
    if (!text.ok() && text.status().IsNotFound()) continue;  // finished meanwhile
    if (!text.ok()) return text.status();
    auto record = JournalRecord::FromJson(*text);
    if (!record.ok()) return record.status().WithContext(dst_->UriOf(obj.key));
    if (RecordKey(record->task_id) != obj.key) {
      return Status::Corruption(fmt::format("{}: journal record is for task '{}', not this name",
                                            dst_->UriOf(obj.key), record->task_id));
    }
    records.emplace_back(obj.key, std::move(*record));
  }
  std::set<std::string> recovering;
  for (auto& [key, record] : records) {
    std::optional<HeldLeases> held;
    if (leases_ && !record.locks.empty()) {
      // A record is a live run's while any of its leases is: that run will finish it.
      Busy busy;
      LP_ASSIGN_OR_RETURN(held, leases_->Claim(record.locks, record.task_id, &busy));
      if (!held) {
        report.live++;
        continue;
      }
      // Taking the leases over raised their generation: the dead owner can no longer renew.
    }
    recovering.insert(record.task_id);
    Status st = RecoverRecord(record, report).WithContext("recovering " + dst_->UriOf(key));
    if (held) (void)leases_->Release(*held);
    LP_RETURN_IF_ERROR(st);
  }
  // Staged objects without a record (an interrupted rollback) are removed, unless a live run's
  // record may be about to name them.
  std::vector<std::string> orphans;
  for (const auto& s : staged) {
    std::string rest = s.key.substr(kStagingPrefix.size());
    std::string task = rest.substr(0, rest.find('/'));
    LP_ASSIGN_OR_RETURN(auto rec, dst_->Stat(RecordKey(task)));
    if (!rec) orphans.push_back(s.key);
  }
  if (!orphans.empty()) LP_RETURN_IF_ERROR(dst_->Delete(orphans));
  if (leases_) LP_RETURN_IF_ERROR(leases_->SweepDead(leases).status());
  return report;
}

// --- Transaction -------------------------------------------------------------------------

Transaction::Transaction(Committer& c, const Task& task, HeldLeases* held)
    : c_(c), task_(task), held_(held) {
  record_.task_id = task.id;
  record_.command = task.command;
  record_.input_root = c.inputs_->Uri();
  record_.owner = c.leases_ ? c.leases_->self().run_id : "single";
  record_.generation = held ? held->generation : 1;
  record_.locks = task.locks;
  for (const auto& in : task.inputs) record_.inputs.push_back({in.key, in.size, in.etag});
}

Transaction::~Transaction() {
  if (!committed_) Abort();
}

void Transaction::Abort() {
  // Uploads first: each stops its sending and aborts itself, so that no part arrives after
  // the rollback's own abort.
  followed_.clear();
  if (!intent_written_) return;
  // Best effort: what cannot be undone here the next run's recovery undoes from the record.
  (void)c_.RollBack(record_);
}

Status Transaction::Renew() {
  if (!c_.leases_ || !held_) return Status::OK();
  if (c_.leases_->Lost(held_)) {
    return Status::FailedPrecondition(task_.label + ": this run lost its lease on the task");
  }
  return c_.leases_->Renew(*held_);
}

Status Transaction::CheckPlanned(Check when, const VerifiedByBuild& verified) {
  ObjectStore& in = *c_.inputs_;
  // Before the build: the local inputs the finish step deletes, so that a task whose inputs
  // another run merged stops before any work. A remote input is downloaded pinned to its
  // ETag (TaskContext::Stage): the same question, asked by the GET itself, so a HEAD first
  // would only double the requests (one per input, thousands for a day). After the build: the
  // files read in place (they may have changed while the engine read them), and any remote
  // input to delete that the build did not download pinned. A read-only remote input is
  // checked where it is read.
  std::vector<const ObjectInfo*> ask;
  for (const auto* list : {&task_.inputs, &task_.reads}) {
    for (const auto& i : *list) {
      const bool in_place = in.LocalPath(i.key).has_value();
      const bool deleted = list == &task_.inputs;
      bool asked;
      if (when == Check::kBeforeBuild) {
        asked = deleted && in_place;
      } else {
        asked = in_place || (deleted && !(verified && verified(i)));
      }
      if (asked) ask.push_back(&i);
    }
  }
  // Several requests at once (a day of thousands of inputs); the first failure in plan order
  // is the one reported, whatever the timing.
  std::vector<Status> verdicts =
      ParallelForAll(ask.size(), ask.size() < 16 ? 1 : 8, [&](size_t n) -> Status {
        const ObjectInfo& i = *ask[n];
        LP_ASSIGN_OR_RETURN(auto now, in.CurrentEtag(i.key));
        if (!now) return Status::NotFound(in.UriOf(i.key) + ": gone since it was planned");
        if (*now != i.etag) {
          return Status::FailedPrecondition(fmt::format(
              "{}: changed since it was planned (ETag {}, now {})", in.UriOf(i.key), i.etag, *now));
        }
        return Status::OK();
      });
  for (const auto& v : verdicts) LP_RETURN_IF_ERROR(v);
  // The outputs before the build only: the commit's writes are create-only or pinned to the
  // target's ETag, so one that changed during the build is refused there.
  if (when == Check::kAfterBuild) return Status::OK();
  for (const auto& o : task_.outputs) {
    LP_ASSIGN_OR_RETURN(auto now, c_.dst_->CurrentEtag(o.key));
    if (!o.replaces && now) {
      return Status::FailedPrecondition(fmt::format(
          "{}: appeared since it was planned; not overwriting it", c_.dst_->UriOf(o.key)));
    }
    if (o.replaces && (!now || *now != o.replaces->etag)) {
      return Status::FailedPrecondition(
          fmt::format("{}: changed since it was planned; not replacing it", c_.dst_->UriOf(o.key)));
    }
  }
  return Status::OK();
}

Result<bool> Transaction::Follow(const std::string& key, const std::string& local_path,
                                 int64_t expected_size) {
  ObjectStore& dst = *c_.dst_;
  bool planned_new = false;
  for (const auto& o : task_.outputs) planned_new |= o.key == key && !o.replaces;
  if (!planned_new || followed_.count(key) || committed_) return false;
  PutOptions put;
  put.if_none_match = true;
  put.tag = record_.WriteTag();
  LP_ASSIGN_OR_RETURN(auto upload, dst.BeginFollowingUpload(key, local_path, expected_size, put));
  if (!upload) return false;
  if (!intent_written_) {
    // The outputs as planned; Commit writes the record again with their sizes. Recovery of
    // this one finds no output carrying the task's tag, so it rolls back: the uploads of the
    // outputs' keys aborted, the record dropped.
    record_.outputs.clear();
    for (const auto& o : task_.outputs) {
      JournalOutput jo;
      jo.key = o.key;
      jo.replaces = o.replaces.has_value();
      if (o.replaces) jo.replaces_etag = o.replaces->etag;
      record_.outputs.push_back(std::move(jo));
    }
    record_.state = "intent";
    LP_RETURN_IF_ERROR(c_.WriteRecord(record_));
    intent_written_ = true;
  }
  LP_RETURN_IF_ERROR(upload->Start());
  followed_[key] = {local_path, std::move(upload)};
  CrashPoint("output-following");
  return true;
}

Status Transaction::Commit(const std::vector<LocalOutput>& outputs,
                           const std::vector<LedgerDoc>& ledger) {
  if (outputs.empty()) return Status::InvalidArgument(task_.label + ": a task with no output");
  ObjectStore& dst = *c_.dst_;
  const bool tags = c_.caps_.tags;
  size_t replacing = 0;
  for (const auto& o : outputs) replacing += o.replaces ? 1 : 0;
  // Order of the writes: new outputs first, the one replacement last (the commit point).
  std::vector<size_t> order;
  for (size_t i = 0; i < outputs.size(); i++) {
    if (!outputs[i].replaces) order.push_back(i);
  }
  for (size_t i = 0; i < outputs.size(); i++) {
    if (outputs[i].replaces) order.push_back(i);
  }
  record_.outputs.clear();
  for (size_t i : order) {
    const auto& lo = outputs[i];
    JournalOutput jo;
    jo.key = lo.key;
    jo.rows = lo.rows;
    jo.replaces = lo.replaces.has_value();
    if (lo.replaces) jo.replaces_etag = lo.replaces->etag;
    std::error_code ec;
    jo.size = static_cast<int64_t>(std::filesystem::file_size(lo.local_path, ec));
    if (ec) return Status::IOError(lo.local_path + ": " + ec.message());
    if (replacing > 1 && lo.replaces) {
      jo.staging_key = fmt::format("{}{}/{}-{}", kStagingPrefix, task_.id, record_.outputs.size(),
                                   BaseName(lo.key));
    }
    if (!tags) {
      LP_ASSIGN_OR_RETURN(jo.content_hash, HashFile(lo.local_path));
    }
    record_.outputs.push_back(std::move(jo));
  }
  record_.ledger = ledger;
  record_.state = "intent";
  LP_RETURN_IF_ERROR(c_.WriteRecord(record_));
  intent_written_ = true;
  CrashPoint("journal-intent");

  const std::string tag = record_.WriteTag();
  written_.clear();
  for (size_t n = 0; n < order.size(); n++) {
    const auto& lo = outputs[order[n]];
    const auto& jo = record_.outputs[n];
    PutOptions put;
    put.tag = tag;
    put.metadata = lo.metadata;
    // The local file is the build's and is not read again: a local store may move it into
    // place instead of copying its bytes.
    put.consume_source = true;
    std::string key = jo.key;
    if (!jo.staging_key.empty()) {
      key = jo.staging_key;
    } else if (jo.replaces) {
      // The commit point: prove the leases are still ours just before it.
      LP_RETURN_IF_ERROR(Renew());
      put.if_match = jo.replaces_etag;
    } else {
      put.if_none_match = true;
      if (!c_.caps_.create_only_reliable) {
        // The endpoint would overwrite silently; the run guard keeps other runs away, and
        // this check keeps a file that appeared meanwhile from being overwritten.
        LP_ASSIGN_OR_RETURN(auto now, dst.Stat(key));
        if (now) {
          return Status::FailedPrecondition(
              fmt::format("{}: appeared since it was planned; not overwriting it", dst.UriOf(key)));
        }
      }
    }
    auto write = [&]() -> Result<ObjectInfo> {
      if (auto f = followed_.find(jo.key); f != followed_.end()) {
        // Followed while it was built: complete that upload, unless it cannot stand for the
        // file (another file, metadata to add, or the file did not only grow).
        auto upload = std::move(f->second.second);
        const bool same = f->second.first == lo.local_path && lo.metadata.empty() &&
                          jo.staging_key.empty() && !jo.replaces;
        followed_.erase(f);
        if (same) {
          LP_ASSIGN_OR_RETURN(auto done, upload->Complete());
          if (done) return std::move(*done);
        }
      }
      return dst.WriteFromFile(key, lo.local_path, put);
    };
    auto info = write();
    if (!info.ok()) {
      if (info.status().IsAlreadyExists()) {
        return Status::FailedPrecondition(
            fmt::format("{}: appeared since it was planned; not overwriting it", dst.UriOf(key)));
      }
      return info.status();
    }
    if (info->size != jo.size) {
      return Status::Corruption(fmt::format("{}: stored {} bytes, the local output has {}",
                                            dst.UriOf(key), info->size, jo.size));
    }
    ObjectInfo w = *info;
    w.key = jo.key;
    written_.push_back(w);
    CrashPoint(jo.staging_key.empty() ? "output-written" : "staged");
  }
  LP_RETURN_IF_ERROR(Renew());
  record_.state = "committed";
  Status st = c_.WriteRecord(record_);
  bool point_passed = false;
  for (const auto& jo : record_.outputs) point_passed |= jo.replaces && jo.staging_key.empty();
  if (!st.ok() && !point_passed) return st;
  // From here the task goes forward (if the record could not be rewritten, its outputs prove
  // the commit to recovery).
  committed_ = true;
  CrashPoint("committed");
  return Status::OK();
}

Status Transaction::Finish(std::vector<std::string>& changed) {
  if (!committed_) return Status::FailedPrecondition(task_.label + ": not committed");
  LP_RETURN_IF_ERROR(c_.RollForward(record_, changed));
  finished_ = true;
  return Status::OK();
}

}  // namespace lakepack
