// The stores the conformance suite runs against: always a local directory (bare and behind a
// prefix), plus every store named in LAKEPACK_TEST_STORES, e.g.
//   LAKEPACK_TEST_STORES="moto=s3://lakepack-test/conf;s3rver=s3://bucket2/x"
// Each test gets a store of its own: a fresh temp directory, or a unique sub-prefix of the
// named store that is emptied again when the test ends. A remote store's endpoint and keys
// come from LAKEPACK_TEST_STORE_<NAME>_* (tests/servers/servers_env.h).
//
// Endpoints that break the S3 contract in a known way say so in
// LAKEPACK_TEST_STORE_<NAME>_DEVIATIONS (comma-separated names from kKnownDeviations); the
// tests of that behaviour are then skipped with the reason, instead of failing every run.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack::testing {

//! Known ways S3-compatible endpoints depart from S3, each with the behaviour S3 has.
inline constexpr std::string_view kKnownDeviations[] = {
    // S3 lists keys in ascending UTF-8 byte order; some endpoints walk their own disk layout.
    "unordered_listing",
    // S3 counts common prefixes towards max-keys; some endpoints return every prefix at once.
    "max_keys_ignores_prefixes",
    // S3 answers a Range request on an empty object with 416; some send a broken response.
    "broken_range_on_empty",
    // S3 lists the multipart uploads in progress (ListMultipartUploads); some endpoints lack it.
    "no_list_uploads",
};

struct StoreBackend {
  //! Test-name friendly: letters, digits and '_' only.
  std::string name;
  //! "" for the built-in local backends, else the URI from LAKEPACK_TEST_STORES.
  std::string uri;
  //! Built-in local store wrapped in a prefix store (exercises MakePrefixStore).
  bool local_prefixed = false;
  //! A remote store expected from the environment but not named there (see ReadBackends).
  bool missing_env = false;
  //! From LAKEPACK_TEST_STORE_<NAME>_DEVIATIONS.
  std::vector<std::string> deviations;
};

inline std::ostream& operator<<(std::ostream& os, const StoreBackend& backend) {
  return os << backend.name << (backend.uri.empty() ? "" : "=" + backend.uri);
}

//! The built-in backends followed by those from LAKEPACK_TEST_STORES.
std::vector<StoreBackend> TestBackends();

//! One test's store and a local scratch directory for files it reads and writes.
//! The destructor removes everything the test left in either.
class TestStore {
 public:
  static Result<std::unique_ptr<TestStore>> Open(const StoreBackend& backend,
                                                 std::string_view test_name);
  ~TestStore();
  TestStore(const TestStore&) = delete;
  TestStore& operator=(const TestStore&) = delete;

  const std::shared_ptr<ObjectStore>& store() const { return store_; }
  //! A local directory, empty at the start of the test, on the same filesystem as local stores.
  const std::string& scratch_dir() const { return scratch_dir_; }
  //! Whether the store is a remote one (S3), not a local directory.
  bool remote() const { return remote_; }
  //! Remote stores: starts a multipart upload of `key` (CreateMultipartUpload, no parts) and
  //! returns its upload id, for the tests of ListPendingUploads. std::nullopt for local stores.
  Result<std::optional<std::string>> StartUpload(std::string_view key);

 private:
  TestStore() = default;

  std::shared_ptr<ObjectStore> store_;
  std::string backend_name_;
  std::string scratch_dir_;
  std::string temp_dir_;  // removed recursively at the end
  bool remote_ = false;   // its objects must be deleted through the store
};

}  // namespace lakepack::testing
