// A lake for end-to-end tests: a local directory or a prefix in the moto bucket, with what a
// test needs to look at it from outside the binary (keys, row digests, files).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "e2e/harness.h"
#include "lakepack/format.h"
#include "lakepack/object_store.h"

namespace lakepack {
//! For gtest's messages: "RowDigest{rows 230, checksum 1234...}".
void PrintTo(const RowDigest& d, std::ostream* os);
}  // namespace lakepack

namespace lakepack::e2e {

class TestLake {
 public:
  //! backend: "local", "moto" (the CTest fixture's auth-off moto), "s3rver", or the name of
  //! another remote store of the fixture's LAKEPACK_TEST_STORES ("rgw": NAME=s3://BUCKET/...,
  //! reached through LAKEPACK_TEST_STORE_<NAME>_{ENDPOINT,ACCESS_KEY_ID,SECRET_ACCESS_KEY,
  //! REGION}).
  static std::unique_ptr<TestLake> Open(const std::string& backend, const std::string& name);
  //! Why `backend` cannot be opened here ("" when it can): a store of LAKEPACK_TEST_STORES
  //! such as "rgw" whose variables the fixture did not export. A test skips with it
  //! (GTEST_SKIP); local, moto and s3rver are always expected (Open fails without them).
  static std::string Unavailable(const std::string& backend);
  ~TestLake();

  //! The lake's root URI, as given to lakepack.
  const std::string& uri() const { return uri_; }
  //! Environment the binary needs to reach the lake.
  const std::map<std::string, std::string>& env() const { return env_; }
  ObjectStore& store() { return *store_; }
  const std::string& backend() const { return backend_; }
  //! S3 lakes: the bucket, and the key prefix of the lake in it (no trailing '/').
  const std::string& bucket() const { return bucket_; }
  const std::string& prefix() const { return prefix_; }

  //! Runs lakepack with the lake's environment (and `extra`).
  RunResult Run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& extra = {});

  //! A fresh lake on the same backend holding a copy of every object of this one, lakepack's
  //! journal and staging objects included (journal records renamed to point at the copy), so
  //! that a run there does what the same run would do here. Exact on S3, where a (single-part)
  //! object's ETag is the MD5 of its content; a local copy has new ETags, which matters only
  //! to a journal that names them.
  std::unique_ptr<TestLake> Clone(const std::string& name);

  //! Every key, sorted (lakepack's own _lakepack/ objects included).
  std::vector<std::string> Keys();
  //! Keys outside _lakepack/.
  std::vector<std::string> DataKeys();
  //! The rows of every data .parquet file, as one order-independent digest.
  RowDigest Digest();
  //! Rows of one object.
  int64_t Rows(const std::string& key);
  //! A local copy of one object.
  std::string Fetch(const std::string& key);
  //! Puts a local file into the lake.
  void Put(const std::string& key, const std::string& local_path);
  //! Puts every file under local `dir` into the lake, at its path relative to `dir`.
  void PutTree(const std::string& dir);
  //! The key that a URI lakepack prints names in this lake ("s3://b/p/k" or "file:///root/k"
  //! to "k"); a URI outside the lake comes back as it is.
  std::string KeyOf(std::string uri) const;

  //! The digest of the rows of local Parquet files, as Digest() computes it for a lake.
  RowDigest DigestFiles(const std::vector<std::string>& local_parquet);
  //! The rows of Parquet objects as CSV lines (the engine's text form, header dropped), in the
  //! keys' order: to count rows by content.
  std::vector<std::string> CsvRows(const std::vector<std::string>& keys);
  //! Keys under a "_lakepack/" segment (anywhere in the key) that are not caches: journal
  //! records, staging objects, leases, probes. The one cache is pack's manifest,
  //! "<table dir>/_lakepack/pack-<series>.json" (PackManifestKey in src/plan/pack_plan.h).
  std::vector<std::string> LakepackLeftovers();
  //! S3 lakes: the keys of the multipart uploads still open under the lake's prefix, as an
  //! independent client (the aws CLI, `s3api list-multipart-uploads`) lists them. Empty for a
  //! local lake. A listing that fails is a test failure.
  std::vector<std::string> OpenMultipartUploads();

  ScratchDir& scratch() { return scratch_; }

 private:
  std::string backend_;
  std::string uri_;
  std::string bucket_, prefix_;
  std::map<std::string, std::string> env_;
  std::shared_ptr<ObjectStore> store_;
  ScratchDir scratch_;
  std::unique_ptr<FormatEngine> engine_;
  int fetched_ = 0;
};

//! Skips the test (GTEST_SKIP, with the reason) when `backend` is not available here.
#define SKIP_UNLESS_AVAILABLE(backend)                             \
  do {                                                             \
    if (auto why = TestLake::Unavailable(backend); !why.empty()) { \
      GTEST_SKIP() << why;                                         \
    }                                                              \
  } while (0)

//! A sample lake (`lakepack sample DIR/tree FLAGS... --quiet`) made locally, to be put into a
//! test's lake (TestLake::PutTree). Returns its root; a failed run is a test failure.
std::string SampleTree(const ScratchDir& dir, const std::vector<std::string>& flags);

//! A run of lakepack killed (SIGKILL, via LAKEPACK_CRASH_AT=op:<n>) at a random operation.
struct RandomKill {
  RunResult run;              // exit_code 137 when the kill came
  int64_t op = 0;             // the operation it was to die at
  int64_t ops = 0;            // operations an uninterrupted run from the same state reached
  std::string Where() const;  // "op 37 of 131", for messages
};

//! The arguments of a command on a given lake (they name its URI).
using LakeArgs = std::function<std::vector<std::string>(const TestLake&)>;

//! The crash points (LAKEPACK_CRASH_AT=op:<n> can kill at n = 1 .. that number) that an
//! uninterrupted `args` reaches from the lake's current state: counted by the same run on a
//! Clone (LAKEPACK_COUNT_OPS), so the lake itself is left as it is. 0 when that run failed
//! (a test failure).
int64_t CountOps(TestLake& lake, const LakeArgs& args,
                 const std::map<std::string, std::string>& extra);

//! Runs `args(lake)` and kills it at an operation drawn uniformly from those an uninterrupted
//! run from the lake's current state reaches. That number is counted first by the same run on
//! a Clone (LAKEPACK_COUNT_OPS), so the kill lands inside the run, on any machine, however
//! fast or loaded: the verdict never depends on timing.
RandomKill KillAtRandomOp(TestLake& lake, const LakeArgs& args,
                          const std::map<std::string, std::string>& extra, std::mt19937& rng);

}  // namespace lakepack::e2e
