// Starts and stops tests/faults/fault_proxy.py for one test (see fault_proxy_process.h).
#include "faults/fault_proxy_process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>
#include <vector>

extern char** environ;

namespace lakepack::testing {

namespace {

// Generous caps on polls that end as soon as their condition holds: Python starts in well under
// a second, but a loaded CI machine can take many; a proxy that died is noticed at once.
constexpr auto kStartTimeout = std::chrono::seconds(120);
constexpr auto kStopTimeout = std::chrono::seconds(5);

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string DefaultScript() {
  if (const char* s = std::getenv("LAKEPACK_TEST_FAULT_PROXY"); s != nullptr && *s != '\0') {
    return s;
  }
  if (const char* root = std::getenv("LAKEPACK_SOURCE_DIR"); root != nullptr && *root != '\0') {
    return std::string(root) + "/tests/faults/fault_proxy.py";
  }
#ifdef LAKEPACK_SOURCE_DIR
  return std::string(LAKEPACK_SOURCE_DIR) + "/tests/faults/fault_proxy.py";
#else
  return "tests/faults/fault_proxy.py";
#endif
}

// Waits up to `timeout` for the child to end; true when it has (and is reaped).
bool WaitExit(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(const FaultProxyOptions& options) {
  if (options.upstream_port <= 0) return Status::InvalidArgument("fault proxy: no upstream port");
  std::unique_ptr<FaultProxy> proxy(new FaultProxy());
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/lakepack-fault-proxy-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return PosixError("mkdtemp " + dir, errno);
  proxy->dir_ = dir;
  const std::string port_file = dir + "/port";
  const std::string log_file = dir + "/log";

  std::vector<std::string> args = {"python3",
                                   "-u",
                                   options.script.empty() ? DefaultScript() : options.script,
                                   "--upstream",
                                   "127.0.0.1:" + std::to_string(options.upstream_port),
                                   "--port",
                                   "0",
                                   "--port-file",
                                   port_file,
                                   "--rate",
                                   std::to_string(options.rate),
                                   "--seed",
                                   std::to_string(options.seed)};
  if (!options.kinds.empty()) args.insert(args.end(), {"--kinds", options.kinds});
  if (!options.match.empty()) args.insert(args.end(), {"--match", options.match});
  if (options.max_faults >= 0) {
    args.insert(args.end(), {"--max-faults", std::to_string(options.max_faults)});
  }
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  int rc = ::posix_spawnp(&pid, "python3", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return PosixError("fault proxy: spawn python3", rc);
  proxy->pid_ = pid;

  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadFile(port_file);
    if (!text.empty() && text.back() == '\n') {
      proxy->port_ = std::atoi(text.c_str());
      proxy->endpoint_ = "http://127.0.0.1:" + std::to_string(proxy->port_);
      return proxy;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      proxy->pid_ = -1;
      return Status::IOError("fault proxy exited at start: " + ReadFile(log_file));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::IOError("fault proxy did not listen within " +
                         std::to_string(kStartTimeout.count()) + " s: " + ReadFile(log_file));
}

FaultProxy::~FaultProxy() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!WaitExit(pid_, kStopTimeout)) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);  // SIGKILL always ends it: no cap to outlast
    }
  }
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string FaultProxy::log() const { return ReadFile(dir_ + "/log"); }

int FaultProxy::faults() const {
  std::istringstream in(log());
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(" fault ") != std::string::npos) ++n;
  }
  return n;
}

}  // namespace lakepack::testing
