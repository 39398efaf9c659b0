// Unit tests of the journal, the leases and the transaction, on a MemoryStore: every state a
// task can be left in by a crash, and what recovery makes of it.
#include "commit/commit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "commit/lease.h"
#include "plan/task.h"
#include "store/memory_store.h"
#include "unit/scratch_dir.h"

namespace lakepack {
namespace {

namespace fs = std::filesystem;

// A clock and a process table the test controls.
struct FakeWorld {
  int64_t now = 1'000'000;
  std::set<std::string> running;  // run ids whose process runs
  Liveness liveness() {
    Liveness l;
    l.now_ms = [this] { return now; };
    l.on_this_host = [](const Owner&) { return true; };
    l.running_here = [this](const Owner& o) { return running.count(o.run_id) > 0; };
    return l;
  }
  Owner Run(const std::string& id) {
    Owner o;
    o.run_id = id;
    o.host = "h";
    o.pid = 1;
    running.insert(id);
    return o;
  }
};

std::string Body(ObjectStore& s, const std::string& key) {
  auto r = s.Read(key);
  return r.ok() ? *r : "<" + r.status().message() + ">";
}

using TempDir = test_util::ScratchDir;

TEST(TaskTest, IdIsStableAndCoversInputsAndOutputs) {
  Task t;
  t.command = "rollup";
  t.outputs.push_back({"a/2024/01/01/day.parquet", std::nullopt, -1});
  t.inputs.push_back({"a/2024/01/01/00/x.parquet", 10, "e1", 0, ""});
  std::string id = TaskId(t);
  EXPECT_EQ(id.size(), 16u);
  // The same in every build: a stored id must be recomputable by a later build.
  EXPECT_EQ(id, TaskId(t));
  Task u = t;
  u.inputs[0].etag = "e2";
  EXPECT_NE(TaskId(u), id);
  u = t;
  u.outputs[0].replaces = ObjectInfo{"a/2024/01/01/day.parquet", 5, "t1", 0, ""};
  EXPECT_NE(TaskId(u), id);
}

TEST(TaskTest, ShardsByShardKeyNotByPosition) {
  std::map<int, int> count;
  for (int i = 0; i < 300; i++) {
    Task t;
    t.shard_key = "out/" + std::to_string(i);
    t.id = "changes-every-listing-" + std::to_string(i * 7);
    int s = ShardOf(t, 3);
    ASSERT_GE(s, 0);
    ASSERT_LT(s, 3);
    count[s]++;
    t.id = "other";
    EXPECT_EQ(ShardOf(t, 3), s) << "the shard must not depend on the id";
  }
  for (auto& [s, n] : count) EXPECT_GT(n, 60) << "shard " << s;
}

TEST(JournalTest, RoundTripAndStrictness) {
  JournalRecord r;
  r.task_id = "00000000000000aa";
  r.command = "pack";
  r.owner = "run1";
  r.generation = 3;
  r.locks = {"series:t"};
  r.inputs.push_back({"in/a.csv", 10, "e"});
  JournalOutput o;
  o.key = "t/t_0.parquet";
  o.replaces = true;
  o.replaces_etag = "x";
  o.rows = 7;
  o.size = 99;
  r.outputs.push_back(o);
  auto back = JournalRecord::FromJson(r.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), r.ToJson());
  EXPECT_EQ(back->WriteTag(), "00000000000000aa.3");
  EXPECT_FALSE(JournalRecord::FromJson("{").ok());
  EXPECT_FALSE(JournalRecord::FromJson(R"({"task_id":"a","state":"maybe","inputs":[],
    "outputs":[{"key":"k"}]})")
                   .ok());
  auto none = JournalRecord::FromJson(R"({"version":2,"task_id":"a","state":"intent",
    "inputs":[],"outputs":[]})");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no outputs"), std::string::npos);
}

TEST(LeaseTest, ClaimBusyTakeoverAndFencing) {
  FakeWorld world;
  auto store = MakeMemoryStore();
  LeaseManager a(store, world.Run("A"), world.liveness(), 60'000);
  LeaseManager b(store, world.Run("B"), world.liveness(), 60'000);

  Busy busy;
  auto ha = a.Claim({"k2", "k1"}, "task1", &busy);
  ASSERT_TRUE(ha.ok() && ha->has_value());
  EXPECT_EQ((*ha)->keys.size(), 2u);
  auto hb = b.Claim({"k1"}, "task2", &busy);
  ASSERT_TRUE(hb.ok());
  EXPECT_FALSE(hb->has_value()) << "a live lease is not taken";
  EXPECT_EQ(busy.lock, "k1");
  EXPECT_NE(busy.holder.find("run A"), std::string::npos);
  // All or nothing: B's claim of k3 + k1 leaves k3 free.
  auto hb2 = b.Claim({"k3", "k1"}, "task2", &busy);
  ASSERT_TRUE(hb2.ok());
  EXPECT_FALSE(hb2->has_value());
  auto k3 = store->Stat(LeaseKey("k3"));
  ASSERT_TRUE(k3.ok());
  EXPECT_FALSE(k3->has_value());

  // A dies: B takes over at once (same host), with a higher generation, and learns the task.
  world.running.erase("A");
  auto taken = b.Claim({"k1"}, "task2", &busy);
  ASSERT_TRUE(taken.ok() && taken->has_value());
  EXPECT_EQ((*taken)->generation, 2);
  ASSERT_EQ((*taken)->taken_over.size(), 1u);
  EXPECT_EQ((*taken)->taken_over[0], "task1");
  // A (a zombie that still thinks it holds k1) cannot renew: fenced.
  Status renew = a.Renew(**ha);
  EXPECT_EQ(renew.code(), StatusCode::kFailedPrecondition) << renew.ToString();
  // A's release deletes only what is still A's (k2), never B's k1.
  ASSERT_TRUE(a.Release(**ha).ok());
  EXPECT_TRUE(store->Stat(LeaseKey("k1"))->has_value());
  EXPECT_FALSE(store->Stat(LeaseKey("k2"))->has_value());
  ASSERT_TRUE(b.Release(**taken).ok());
  EXPECT_FALSE(store->Stat(LeaseKey("k1"))->has_value());
}

TEST(LeaseTest, ElsewhereOnlyExpiryFreesALease) {
  FakeWorld world;
  auto store = MakeMemoryStore();
  Liveness remote = world.liveness();
  remote.on_this_host = [](const Owner&) { return false; };
  LeaseManager a(store, world.Run("A"), remote, 60'000);
  LeaseManager b(store, world.Run("B"), remote, 60'000);
  Busy busy;
  auto ha = a.Claim({"k"}, "t", &busy);
  ASSERT_TRUE(ha.ok() && ha->has_value());
  world.running.erase("A");  // invisible from another host
  auto hb = b.Claim({"k"}, "t", &busy);
  ASSERT_TRUE(hb.ok());
  EXPECT_FALSE(hb->has_value());
  // A renews: the expiry moves.
  world.now += 50'000;
  ASSERT_TRUE(a.Renew(**ha).ok());
  world.now += 50'000;
  hb = b.Claim({"k"}, "t", &busy);
  ASSERT_TRUE(hb.ok());
  EXPECT_FALSE(hb->has_value()) << "renewed 50 s ago, lives 60 s";
  world.now += 11'000;
  hb = b.Claim({"k"}, "t", &busy);
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->has_value()) << "expired";
}

TEST(LeaseTest, RunGuardLetsOneRunIn) {
  FakeWorld world;
  auto store = MakeMemoryStore();
  auto g1 = RunGuard::Acquire(store, world.Run("A"), world.liveness(), 60'000);
  ASSERT_TRUE(g1.ok());
  auto g2 = RunGuard::Acquire(store, world.Run("B"), world.liveness(), 60'000);
  ASSERT_FALSE(g2.ok());
  EXPECT_NE(g2.status().message().find("another lakepack run A"), std::string::npos)
      << g2.status().message();
  g1->reset();
  auto g3 = RunGuard::Acquire(store, world.Run("C"), world.liveness(), 60'000);
  EXPECT_TRUE(g3.ok());
}

// A task that merges two inputs into a new output, and one that replaces a target.
struct Fixture {
  FakeWorld world;
  std::shared_ptr<ObjectStore> store = MakeMemoryStore();
  TempDir tmp;
  Task task;

  Fixture() {
    auto a = store->Write("in/a", "aaa");
    auto b = store->Write("in/b", "bbb");
    task.command = "test";
    task.label = "out/o";
    task.inputs = {*a, *b};
    task.outputs.push_back({"out/o", std::nullopt, 2});
    task.locks = {"out/o"};
    task.id = TaskId(task);
  }
  std::vector<LocalOutput> Outputs(const std::string& data) {
    return {{"out/o", tmp.File("o", data), 2, std::nullopt}};
  }
};

TEST(TransactionTest, CommitWritesOnceAndDeletesInputs) {
  Fixture f;
  LeaseManager leases(f.store, f.world.Run("A"), f.world.liveness(), 60'000);
  Committer c(f.store, f.store, &leases);
  Busy busy;
  auto held = leases.Claim(f.task.locks, f.task.id, &busy);
  ASSERT_TRUE(held.ok() && held->has_value());
  auto puts_before = f.store->Counters()["PUT"];
  auto txn = c.Begin(f.task, &**held);
  ASSERT_TRUE(txn->CheckPlanned().ok());
  ASSERT_TRUE(txn->Commit(f.Outputs("merged")).ok());
  std::vector<std::string> changed;
  ASSERT_TRUE(txn->Finish(changed).ok());
  EXPECT_TRUE(changed.empty());
  EXPECT_EQ(Body(*f.store, "out/o"), "merged");
  EXPECT_FALSE(f.store->Stat("in/a")->has_value());
  EXPECT_FALSE(f.store->Stat("in/b")->has_value());
  EXPECT_TRUE(f.store->ListAll(kJournalPrefix)->empty());
  // intent, the output, the lease's renewal before the commit, committed: the output's bytes
  // go up once, and there is no staging copy.
  EXPECT_EQ(f.store->Counters()["PUT"] - puts_before, 4);
  EXPECT_TRUE(f.store->ListAll(kStagingPrefix)->empty());
}

TEST(TransactionTest, DestroyedBeforeCommitRollsBack) {
  Fixture f;
  Committer c(f.store, f.store, nullptr);
  {
    auto txn = c.Begin(f.task, nullptr);
    // The output's key appears meanwhile: the create-only write refuses to overwrite it.
    ASSERT_TRUE(f.store->Write("out/o", "someone else").ok());
    Status st = txn->Commit(f.Outputs("merged"));
    EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  }
  EXPECT_EQ(Body(*f.store, "out/o"), "someone else");
  EXPECT_TRUE(f.store->Stat("in/a")->has_value());
  EXPECT_TRUE(f.store->ListAll(kJournalPrefix)->empty());
}

TEST(TransactionTest, ChangedInputIsNeverDeleted) {
  Fixture f;
  Committer c(f.store, f.store, nullptr);
  auto txn = c.Begin(f.task, nullptr);
  ASSERT_TRUE(txn->Commit(f.Outputs("merged")).ok());
  ASSERT_TRUE(f.store->Write("in/b", "new rows").ok());  // after the commit point
  std::vector<std::string> changed;
  ASSERT_TRUE(txn->Finish(changed).ok());
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_NE(changed[0].find("mem://test/in/b: changed after its rows were committed"),
            std::string::npos)
      << changed[0];
  EXPECT_EQ(Body(*f.store, "in/b"), "new rows");
  EXPECT_FALSE(f.store->Stat("in/a")->has_value());
}

TEST(TransactionTest, CheckPlannedSeesGoneAndChangedInputs) {
  Fixture f;
  Committer c(f.store, f.store, nullptr);
  using Check = Transaction::Check;
  ASSERT_TRUE(f.store->Delete({"in/a"}).ok());
  EXPECT_TRUE(c.Begin(f.task, nullptr)->CheckPlanned(Check::kAfterBuild).IsNotFound());
  ASSERT_TRUE(f.store->Write("in/a", "other").ok());
  EXPECT_EQ(c.Begin(f.task, nullptr)->CheckPlanned(Check::kAfterBuild).code(),
            StatusCode::kFailedPrecondition);
  // An input the build downloaded pinned to its ETag is not asked again: the GET proved it.
  auto only_b = [](const ObjectInfo& i) { return i.key == "in/a"; };
  EXPECT_TRUE(c.Begin(f.task, nullptr)->CheckPlanned(Check::kAfterBuild, only_b).ok());
}

// Before the build, a remote input costs no request: its download is pinned to the planned
// ETag, which asks the same question. The output is asked (it must not exist yet).
TEST(TransactionTest, BeforeTheBuildOnlyTheOutputsOfARemoteStoreAreAsked) {
  Fixture f;
  Committer c(f.store, f.store, nullptr);
  ASSERT_TRUE(f.store->Delete({"in/a"}).ok());
  auto heads = f.store->Counters()["HEAD"];
  EXPECT_TRUE(c.Begin(f.task, nullptr)->CheckPlanned().ok());
  EXPECT_EQ(f.store->Counters()["HEAD"] - heads, 1);
  ASSERT_TRUE(f.store->Write("out/o", "appeared").ok());
  EXPECT_EQ(c.Begin(f.task, nullptr)->CheckPlanned().code(), StatusCode::kFailedPrecondition);
}

// Recovery in each state a crash can leave, built by hand.
struct CrashState {
  Fixture f;
  JournalRecord rec;
  CrashState(bool replaces) {
    if (replaces) {
      auto t = f.store->Write("out/o", "old target");
      f.task.outputs[0].replaces = *t;
      f.task.id = TaskId(f.task);
    }
    rec.task_id = f.task.id;
    rec.command = "test";
    rec.owner = "dead";
    rec.generation = 1;
    rec.locks = f.task.locks;
    for (auto& in : f.task.inputs) rec.inputs.push_back({in.key, in.size, in.etag});
    JournalOutput o;
    o.key = "out/o";
    o.size = 6;
    o.rows = 2;
    if (replaces) {
      o.replaces = true;
      o.replaces_etag = f.task.outputs[0].replaces->etag;
    }
    rec.outputs.push_back(o);
  }
  void Journal(const std::string& state) {
    rec.state = state;
    ASSERT_TRUE(
        f.store->Write(std::string(kJournalPrefix) + rec.task_id + ".json", rec.ToJson()).ok());
  }
  void WriteOutput() {
    PutOptions put;
    put.tag = rec.WriteTag();
    ASSERT_TRUE(f.store->Write("out/o", "merged", put).ok());
  }
  RecoveryReport Recover() {
    LeaseManager leases(f.store, f.world.Run("R"), f.world.liveness(), 60'000);
    Committer c(f.store, f.store, &leases);
    auto r = c.Recover();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(f.store->ListAll(kJournalPrefix)->empty());
    EXPECT_TRUE(f.store->ListAll(kLeasePrefix)->empty());
    return r.ok() ? *r : RecoveryReport{};
  }
  bool InputsThere() { return f.store->Stat("in/a")->has_value(); }
};

TEST(RecoveryTest, IntentBeforeAnyWriteRollsBack) {
  CrashState s(false);
  s.Journal("intent");
  EXPECT_EQ(s.Recover().rolled_back, 1);
  EXPECT_TRUE(s.InputsThere());
  EXPECT_FALSE(s.f.store->Stat("out/o")->has_value());
}

TEST(RecoveryTest, IntentWithNewOutputWrittenRollsForward) {
  CrashState s(false);
  s.Journal("intent");
  s.WriteOutput();
  EXPECT_EQ(s.Recover().rolled_forward, 1);
  EXPECT_FALSE(s.InputsThere());
  EXPECT_EQ(Body(*s.f.store, "out/o"), "merged");
}

TEST(RecoveryTest, IntentWithTargetNotYetReplacedRollsBack) {
  CrashState s(true);
  s.Journal("intent");
  EXPECT_EQ(s.Recover().rolled_back, 1);
  EXPECT_TRUE(s.InputsThere());
  EXPECT_EQ(Body(*s.f.store, "out/o"), "old target");
}

TEST(RecoveryTest, IntentWithTargetReplacedRollsForward) {
  CrashState s(true);
  s.Journal("intent");
  s.WriteOutput();
  EXPECT_EQ(s.Recover().rolled_forward, 1);
  EXPECT_FALSE(s.InputsThere());
  EXPECT_EQ(Body(*s.f.store, "out/o"), "merged");
}

TEST(RecoveryTest, CommittedFinishesAndKeepsChangedInputs) {
  CrashState s(true);
  s.WriteOutput();
  s.Journal("committed");
  ASSERT_TRUE(s.f.store->Write("in/b", "rewritten").ok());
  auto report = s.Recover();
  EXPECT_EQ(report.rolled_forward, 1);
  ASSERT_EQ(report.changed_inputs.size(), 1u);
  EXPECT_FALSE(s.InputsThere());
  EXPECT_EQ(Body(*s.f.store, "in/b"), "rewritten");
}

TEST(RecoveryTest, AnotherWritersObjectIsNotMistakenForOurs) {
  CrashState s(false);
  s.Journal("intent");
  ASSERT_TRUE(s.f.store->Write("out/o", "merged").ok());  // same bytes, no tag of ours
  EXPECT_EQ(s.Recover().rolled_back, 1);
  EXPECT_TRUE(s.InputsThere());
  EXPECT_EQ(Body(*s.f.store, "out/o"), "merged") << "not ours: left alone";
}

TEST(RecoveryTest, LiveRunsRecordIsLeftAlone) {
  CrashState s(false);
  s.Journal("intent");
  LeaseManager owner(s.f.store, s.f.world.Run("dead"), s.f.world.liveness(), 60'000);
  Busy busy;
  auto held = owner.Claim(s.rec.locks, s.rec.task_id, &busy);
  ASSERT_TRUE(held.ok() && held->has_value());
  LeaseManager leases(s.f.store, s.f.world.Run("R"), s.f.world.liveness(), 60'000);
  Committer c(s.f.store, s.f.store, &leases);
  auto r = c.Recover();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->live, 1);
  EXPECT_EQ(s.f.store->ListAll(kJournalPrefix)->size(), 1u);
}

TEST(RecoveryTest, VersionOneRecordsStillRecover) {
  Fixture f;
  ASSERT_TRUE(f.store->Write("_lakepack/staging/t1/o", "merged").ok());
  std::string v1 = R"({"task_id":"t1","command":"rollup","input_root":"","state":"committed",
    "inputs":[{"key":"in/a","size":3,"etag":")" +
                   f.task.inputs[0].etag + R"("}],
    "outputs":[{"final_key":"out/o","staging_key":"_lakepack/staging/t1/o","rows":2,"size":6,
    "etag":"","replaces":{"key":"","size":0,"etag":""}}]})";
  ASSERT_TRUE(f.store->Write("_lakepack/journal/t1.json", v1).ok());
  Committer c(f.store, f.store, nullptr);
  auto r = c.Recover();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rolled_forward, 1);
  EXPECT_EQ(Body(*f.store, "out/o"), "merged");
  EXPECT_FALSE(f.store->Stat("in/a")->has_value());
  EXPECT_TRUE(f.store->ListAll("_lakepack/")->empty());
}

}  // namespace
}  // namespace lakepack

namespace lakepack {
namespace {

// lakepack watch runs one RunJob (one LeaseManager, one run id) per batch in one process: a
// lease an earlier batch failed to release must not hold up the next batch's retry.
TEST(LeaseTest, ALeaseLeftByAnEndedRunOfThisProcessIsDead) {
  auto store = MakeMemoryStore();
  Owner first = Owner::Self();
  {
    LeaseManager a(store, first, Liveness::System(), 60'000);
    Busy busy;
    auto held = a.Claim({"k"}, "task1", &busy);
    ASSERT_TRUE(held.ok() && held->has_value());
    // Not released: as when the release's DELETE failed.
    LeaseManager live(store, Owner::Self(), Liveness::System(), 60'000);
    auto blocked = live.Claim({"k"}, "task1", &busy);
    ASSERT_TRUE(blocked.ok());
    EXPECT_FALSE(blocked->has_value()) << "a's run is still alive";
  }
  LeaseManager b(store, Owner::Self(), Liveness::System(), 60'000);
  Busy busy;
  auto taken = b.Claim({"k"}, "task1", &busy);
  ASSERT_TRUE(taken.ok());
  ASSERT_TRUE(taken->has_value()) << busy.holder;
  EXPECT_EQ((*taken)->generation, 2);
}

}  // namespace
}  // namespace lakepack
