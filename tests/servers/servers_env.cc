// Loads DIR/servers.env (written by tests/servers/start.sh) into a test binary's environment
// before main(), and scopes per-store AWS settings for the conformance suite.
#include "servers/servers_env.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace lakepack::testing {

namespace {

std::mutex& EnvMutex() {
  static std::mutex mu;
  return mu;
}

std::optional<std::string> GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

void SetEnv(const std::string& name, const std::optional<std::string>& value) {
  if (value) {
    ::setenv(name.c_str(), value->c_str(), 1);
  } else {
    ::unsetenv(name.c_str());
  }
}

bool ValidName(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// Before main(): the suites' parameter generators (TestBackends) run after this either way.
const bool kLoadedAtStartup = [] {
  LoadServersEnvOnce();
  return true;
}();

}  // namespace

bool LoadServersEnv(const std::string& path, std::string* error) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot read " + path + " (are the test servers running? tests/servers/start.sh)";
    return false;
  }
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    size_t b = line.find_first_not_of(" \t");
    if (b == std::string::npos || line[b] == '#') continue;
    std::string_view rest = std::string_view(line).substr(b);
    constexpr std::string_view kExport = "export ";
    if (rest.substr(0, kExport.size()) == kExport) rest.remove_prefix(kExport.size());
    size_t eq = rest.find('=');
    std::string name(rest.substr(0, eq));
    if (eq == std::string_view::npos || !ValidName(name)) {
      *error = path + ":" + std::to_string(number) + ": expected export NAME='VALUE'";
      return false;
    }
    std::string_view value = rest.substr(eq + 1);
    if (value.size() >= 2 && value.front() == '\'' && value.back() == '\'') {
      value = value.substr(1, value.size() - 2);
    }
    if (value.find('\'') != std::string_view::npos) {
      *error = path + ":" + std::to_string(number) + ": a value may not hold a quote";
      return false;
    }
    ::setenv(name.c_str(), std::string(value).c_str(), /*overwrite=*/0);
  }
  return true;
}

void LoadServersEnvOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char* path = std::getenv("LAKEPACK_TEST_SERVERS_ENV");
    if (path == nullptr || *path == '\0') return;
    std::string error;
    if (!LoadServersEnv(path, &error)) {
      std::fprintf(stderr, "LAKEPACK_TEST_SERVERS_ENV: %s\n", error.c_str());
      std::exit(2);
    }
  });
}

ScopedStoreEnv::ScopedStoreEnv(std::string_view name) : lock_(EnvMutex()) {
  std::string upper;
  for (char c : name) {
    upper += std::isalnum(static_cast<unsigned char>(c))
                 ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                 : '_';
  }
  const std::string prefix = "LAKEPACK_TEST_STORE_" + upper + "_";
  if (!GetEnv(prefix + "ENDPOINT")) return;
  const std::pair<const char*, const char*> kMap[] = {
      {"AWS_ENDPOINT_URL", "ENDPOINT"},
      {"AWS_ACCESS_KEY_ID", "ACCESS_KEY_ID"},
      {"AWS_SECRET_ACCESS_KEY", "SECRET_ACCESS_KEY"},
      {"AWS_REGION", "REGION"},
      {"AWS_SESSION_TOKEN", nullptr},
      {"AWS_PROFILE", nullptr},
  };
  for (const auto& [aws, ours] : kMap) {
    saved_.emplace_back(aws, GetEnv(aws));
    SetEnv(aws, ours ? GetEnv(prefix + ours) : std::nullopt);
  }
}

ScopedStoreEnv::~ScopedStoreEnv() {
  for (const auto& [name, value] : saved_) SetEnv(name, value);
}

}  // namespace lakepack::testing
