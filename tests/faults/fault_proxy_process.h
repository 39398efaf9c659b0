// Runs tests/faults/fault_proxy.py as a child process for one test: a fault-injecting proxy on
// 127.0.0.1 in front of an S3 server (moto, signature checking off), so a test can point a
// store at endpoint() and see 500 / 503 / SlowDown / resets / truncated bodies on a share of
// its requests. Each test starts its own proxy, so tests running in parallel never share
// settings. Thread-safety: one object per test; not shared between threads.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "lakepack/status.h"

namespace lakepack::testing {

struct FaultProxyOptions {
  //! Port of the server on 127.0.0.1 the proxy forwards to.
  int upstream_port = 0;
  //! Share of requests that fail, 0..1; 1 = every request, forever.
  double rate = 0.2;
  //! Comma-separated kinds (fault_proxy.py --help): "" = all but "stall".
  std::string kinds;
  uint64_t seed = 1;
  //! Only requests whose "METHOD /path?query" matches this regex may fail ("" = all).
  std::string match;
  //! Stop injecting after this many faults (-1 = never).
  int max_faults = -1;
  //! The script; "" = $LAKEPACK_TEST_FAULT_PROXY (servers.env sets it), else the source tree's.
  std::string script;
};

class FaultProxy {
 public:
  //! Starts the proxy and waits (up to 10 s) until it listens. The proxy's log goes to a file
  //! that log() returns.
  static Result<std::unique_ptr<FaultProxy>> Start(const FaultProxyOptions& options);
  //! Stops the proxy (SIGTERM, then SIGKILL) and removes its files.
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  //! "http://127.0.0.1:PORT".
  const std::string& endpoint() const { return endpoint_; }
  int port() const { return port_; }
  //! What the proxy logged so far: one "fault KIND: METHOD target" line per fault.
  std::string log() const;
  //! Faults injected so far (counted from the log).
  int faults() const;

 private:
  FaultProxy() = default;

  pid_t pid_ = -1;
  int port_ = 0;
  std::string endpoint_;
  std::string dir_;
};

}  // namespace lakepack::testing
