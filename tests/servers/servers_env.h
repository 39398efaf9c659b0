// How a test binary learns where the S3 test servers are (tests/servers/start.sh DIR writes
// DIR/servers.env; docs/testing.md): ctest sets LAKEPACK_TEST_SERVERS_ENV to that file's path,
// and linking servers_env.cc into a test binary loads it into the environment before main().
//
// Thread-safety: LoadServersEnv and ScopedStoreEnv change the process environment; call them
// only while no other thread reads it (before tests start, or around a store's opening).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lakepack::testing {

//! Reads the "export NAME='VALUE'" lines of `path` and sets each NAME that is not set yet, so an
//! explicit environment wins over the file. Blank lines and '#' comments are skipped.
//! Returns false with `error` set when the file cannot be read or a line is malformed.
bool LoadServersEnv(const std::string& path, std::string* error);

//! Loads $LAKEPACK_TEST_SERVERS_ENV once per process (a no-op when it is unset or empty).
//! Runs from a static initializer of servers_env.cc already; calling it again is harmless,
//! which lets code that runs during static initialization make sure it sees the file.
//! A set but unreadable file ends the process with exit code 2 and a message: a run meant to
//! test against the servers must not quietly test without them.
void LoadServersEnvOnce();

//! For the conformance suite's remote stores: while alive, points the standard AWS variables
//! (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) at store `name`'s
//! LAKEPACK_TEST_STORE_<NAME>_{ENDPOINT,ACCESS_KEY_ID,SECRET_ACCESS_KEY,REGION} (NAME upper-
//! cased) and clears AWS_SESSION_TOKEN and AWS_PROFILE; the destructor restores them. When no
//! LAKEPACK_TEST_STORE_<NAME>_ENDPOINT is set it changes nothing. Holds a process-wide lock, so
//! two of them never interleave. Relies on OpenStore reading these variables when it opens.
class ScopedStoreEnv {
 public:
  explicit ScopedStoreEnv(std::string_view name);
  ~ScopedStoreEnv();
  ScopedStoreEnv(const ScopedStoreEnv&) = delete;
  ScopedStoreEnv& operator=(const ScopedStoreEnv&) = delete;

  //! Whether store `name` had settings of its own.
  bool active() const { return !saved_.empty(); }

 private:
  std::unique_lock<std::mutex> lock_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace lakepack::testing
