// A lake for end-to-end tests: a local directory or a prefix in the moto bucket, with what a
// test needs to look at it from outside the binary (keys, row digests, files).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "e2e/harness.h"
#include "lakepack/format.h"
#include "lakepack/object_store.h"

namespace lakepack::e2e {

class TestLake {
 public:
  //! backend: "local", "moto" (the CTest fixture's auth-off moto) or "s3rver".
  static std::unique_ptr<TestLake> Open(const std::string& backend, const std::string& name);
  ~TestLake();

  //! The lake's root URI, as given to lakepack.
  const std::string& uri() const { return uri_; }
  //! Environment the binary needs to reach the lake.
  const std::map<std::string, std::string>& env() const { return env_; }
  ObjectStore& store() { return *store_; }

  //! Runs lakepack with the lake's environment (and `extra`).
  RunResult Run(const std::vector<std::string>& args,
                const std::map<std::string, std::string>& extra = {}, int kill_after_ms = -1);

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

  ScratchDir& scratch() { return scratch_; }

 private:
  std::string uri_;
  std::map<std::string, std::string> env_;
  std::shared_ptr<ObjectStore> store_;
  ScratchDir scratch_;
  std::unique_ptr<FormatEngine> engine_;
  int fetched_ = 0;
};

}  // namespace lakepack::e2e
