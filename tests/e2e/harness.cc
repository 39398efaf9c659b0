// End-to-end test helpers (see harness.h).
#include "e2e/harness.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

extern char** environ;

namespace lakepack::e2e {

namespace fs = std::filesystem;

Spawned Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  Spawned p;
  char out_tmpl[] = "/tmp/lp-e2e-out-XXXXXX";
  char err_tmpl[] = "/tmp/lp-e2e-err-XXXXXX";
  int out_fd = mkstemp(out_tmpl);
  int err_fd = mkstemp(err_tmpl);
  p.out_path = out_tmpl;
  p.err_path = err_tmpl;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> envs;
  for (char** e = environ; *e; e++) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && env.count(kv.substr(0, eq))) continue;
    envs.push_back(kv);
  }
  for (auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out_fd);
  close(err_fd);
  if (rc == 0) {
    p.pid = pid;
  } else {
    p.spawn_error = "spawn failed: " + argv[0];
  }
  return p;
}

RunResult Wait(Spawned& p, std::chrono::seconds cap) {
  RunResult r;
  if (p.pid > 0) {
    int status = 0;
    bool hung = false;
    int wait_errno = 0;
    auto deadline = std::chrono::steady_clock::now() + cap;
    for (;;) {
      pid_t got = waitpid(p.pid, &status, WNOHANG);
      if (got == p.pid) break;
      if (got < 0 && errno != EINTR) {
        wait_errno = errno;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        hung = true;
        kill(p.pid, SIGKILL);
        waitpid(p.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    r.exit_code = hung || wait_errno != 0 ? -1
                  : WIFEXITED(status)     ? WEXITSTATUS(status)
                                          : 128 + WTERMSIG(status);
    if (hung) r.err = "(still running after " + std::to_string(cap.count()) + " s: killed)\n";
    if (wait_errno != 0) r.err = std::string("(waitpid: ") + std::strerror(wait_errno) + ")\n";
    p.pid = -1;
  } else {
    r.err = p.spawn_error;
  }
  r.out += ReadFile(p.out_path);
  r.err += ReadFile(p.err_path);
  unlink(p.out_path.c_str());
  unlink(p.err_path.c_str());
  return r;
}

RunResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  Spawned p = Spawn(argv, env);
  return Wait(p);
}

std::vector<std::string> LakepackArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {LAKEPACK_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

RunResult Lakepack(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env) {
  return Run(LakepackArgv(args), env);
}

std::vector<RunResult> RunTogether(const std::vector<Launch>& launches) {
  std::vector<size_t> order(launches.size());
  for (size_t i = 0; i < order.size(); i++) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return launches[a].delay_s < launches[b].delay_s; });
  std::vector<Spawned> procs(launches.size());
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i : order) {
    // The schedule, not a wait for anything: the start times are the test's input.
    std::this_thread::sleep_until(t0 +
                                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(launches[i].delay_s)));
    procs[i] = Spawn(launches[i].argv, launches[i].env);
  }
  std::vector<RunResult> results;
  for (auto& p : procs) results.push_back(Wait(p));
  return results;
}

nlohmann::json SummaryJson(const RunResult& run) {
  nlohmann::json found = nlohmann::json::value_t::discarded;
  std::istringstream lines(run.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) found = j;
  }
  return found;
}

ScratchDir::ScratchDir() {
  char tmpl[] = "/tmp/lp-e2e-XXXXXX";
  path_ = mkdtemp(tmpl);
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

bool Exists(const std::string& path) { return fs::exists(path); }

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> ListFilePaths(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : ListFiles(dir)) out.push_back(dir + "/" + f);
  return out;
}

std::vector<ReaderView> CrossRead(const std::string& path, const std::string& reader,
                                  const std::vector<std::string>& exclude) {
  std::string script = std::string(LAKEPACK_SOURCE_DIR) + "/tests/xread/xread.mjs";
  std::vector<std::string> argv = {"node", script, "--reader", reader};
  if (!exclude.empty()) {
    std::string cols;
    for (auto& c : exclude) cols += (cols.empty() ? "" : ",") + c;
    argv.push_back("--exclude");
    argv.push_back(cols);
  }
  argv.push_back(path);
  RunResult r = Run(argv);
  std::vector<ReaderView> views;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    ReaderView v;
    v.reader = j.value("reader", "");
    v.rows = j.value("rows", int64_t{-1});
    if (j.contains("columns")) v.columns = j["columns"].get<std::vector<std::string>>();
    v.checksum = j.value("checksum", "");
    v.multiset = j.value("multiset", "");
    v.error = j.value("error", "");
    views.push_back(v);
  }
  if (views.empty()) {
    ReaderView v;
    v.reader = "xread";
    v.error = "no output from xread.mjs (exit " + std::to_string(r.exit_code) + "): " + r.err;
    views.push_back(v);
  }
  return views;
}

void ExpectReadersAgree(const std::string& parquet, int64_t expected_rows,
                        const std::vector<std::string>& wasm_exclude) {
  // The JSON lines that lakepack (DuckDB) makes of the same file: a third, different reader.
  std::string jsonl = parquet + ".xread.jsonl";
  auto conv = Lakepack({"convert", parquet, jsonl, "--quiet"});
  ASSERT_EQ(conv.exit_code, 0) << conv.All();
  auto reference = CrossRead(jsonl);
  auto reference_wasm = CrossRead(jsonl, "all", wasm_exclude);
  fs::remove(jsonl);
  ASSERT_EQ(reference.size(), 1u);
  ASSERT_EQ(reference[0].error, "");
  EXPECT_EQ(reference[0].rows, expected_rows);
  for (const std::string reader : {"hyparquet", "parquet-wasm"}) {
    bool wasm = reader == "parquet-wasm";
    auto views = CrossRead(parquet, reader, wasm ? wasm_exclude : std::vector<std::string>{});
    const ReaderView& want = wasm ? reference_wasm[0] : reference[0];
    ASSERT_EQ(views.size(), 1u) << reader;
    const ReaderView& v = views[0];
    EXPECT_EQ(v.error, "") << reader << " failed on " << parquet;
    EXPECT_EQ(v.rows, expected_rows) << reader << " row count of " << parquet;
    // JSON lines of no rows carry no column names to compare with.
    if (expected_rows > 0) {
      EXPECT_EQ(v.columns, want.columns) << reader << " columns of " << parquet;
    }
    EXPECT_EQ(v.checksum, want.checksum) << reader << " values of " << parquet;
    EXPECT_FALSE(v.checksum.empty()) << reader;
  }
}

std::string MultisetOf(const std::vector<std::string>& paths, const std::string& reader,
                       std::string* error) {
  error->clear();
  std::string script = std::string(LAKEPACK_SOURCE_DIR) + "/tests/xread/xread.mjs";
  std::vector<std::string> argv = {"node", script, "--reader", reader};
  argv.insert(argv.end(), paths.begin(), paths.end());
  RunResult r = Run(argv);
  uint64_t sum = 0;
  size_t seen = 0;
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;
    if (j.contains("error")) {
      *error = j.value("file", "?") + ": " + j.value("error", "");
      return "";
    }
    sum += std::stoull(j.value("multiset", "0"), nullptr, 16);
    seen++;
  }
  if (seen != paths.size()) {
    *error = "xread.mjs read " + std::to_string(seen) + " of " + std::to_string(paths.size()) +
             " file(s) (exit " + std::to_string(r.exit_code) + "): " + r.err;
    return "";
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(sum));
  return hex;
}

std::vector<std::string> SpoolDirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.rfind("lakepack-", 0) == 0) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ConformanceDir() {
  if (const char* d = std::getenv("LAKEPACK_CONFORMANCE_DIR")) return d;
  return std::string(LAKEPACK_SOURCE_DIR) + "/../shared/conformance/parquet-testing";
}

namespace {
// 'text' for sh.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}
}  // namespace

RunResult OnTerminal(const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env) {
  std::string cmd;
  for (const auto& a : LakepackArgv(args)) cmd += (cmd.empty() ? "" : " ") + ShellQuote(a);
  return Run({"script", "-qec", cmd, "/dev/null"}, env);
}

std::vector<std::string> Bars(const std::string& out) {
  static const std::string kRedraw = "\r\033[K[";
  std::vector<std::string> bars;
  size_t at = 0;
  while ((at = out.find(kRedraw, at)) != std::string::npos) {
    at += kRedraw.size() - 1;
    size_t end = out.find_first_of("\r\n", at);
    bars.push_back(out.substr(at, end == std::string::npos ? std::string::npos : end - at));
  }
  return bars;
}

}  // namespace lakepack::e2e
