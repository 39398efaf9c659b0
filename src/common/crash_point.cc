// Crash points for the crash tests (see crash_point.h).
#include "common/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace lakepack {

namespace {

// The step that counts every crash point.
constexpr std::string_view kAnyStep = "op";

struct CrashSpec {
  std::string step;  // "" when only counting (LAKEPACK_COUNT_OPS without LAKEPACK_CRASH_AT)
  int64_t count = 1;
  std::string count_file;
  std::atomic<int64_t> seen{0};  // times `step` was reached
  std::atomic<int64_t> ops{0};   // crash points reached, of any name
};

CrashSpec* Spec();

// Registered with atexit by Spec() itself, so it runs after Spec() has its value.
void WriteOpCount() {
  CrashSpec* s = Spec();
  if (s == nullptr || s->count_file.empty()) return;
  if (FILE* f = std::fopen(s->count_file.c_str(), "w")) {
    std::fprintf(f, "%lld\n", static_cast<long long>(s->ops.load()));
    std::fclose(f);
  }
}

CrashSpec* ReadSpec() {
  const char* at = std::getenv("LAKEPACK_CRASH_AT");
  const char* count_file = std::getenv("LAKEPACK_COUNT_OPS");
  const bool crash = at != nullptr && *at != '\0';
  const bool count = count_file != nullptr && *count_file != '\0';
  if (!crash && !count) return nullptr;
  auto* s = new CrashSpec;
  if (crash) {
    std::string v = at;
    auto colon = v.find(':');
    s->step = v.substr(0, colon);
    if (colon != std::string::npos) s->count = std::atoll(v.c_str() + colon + 1);
  }
  if (count) {
    s->count_file = count_file;
    std::atexit(WriteOpCount);
  }
  return s;
}

// Read once, by the first crash point; never freed (the exit handler reads it). After that
// the check is the load of the static's guard.
CrashSpec* Spec() {
  static CrashSpec* const spec = ReadSpec();
  return spec;
}

}  // namespace

void CrashPoint(std::string_view step) {
  CrashSpec* s = Spec();
  if (s == nullptr) return;
  const int64_t op = s->ops.fetch_add(1) + 1;
  bool die = false;
  if (s->step == kAnyStep) {
    die = op >= s->count;
  } else if (s->step == step) {
    die = s->seen.fetch_add(1) + 1 >= s->count;
  }
  if (die) {
    ::kill(::getpid(), SIGKILL);
    ::pause();
  }
}

}  // namespace lakepack
