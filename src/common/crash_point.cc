// Crash points for the crash tests (see crash_point.h).
#include "common/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

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
  std::string pause_step;        // LAKEPACK_PAUSE_AT: "" when not pausing
  std::string pause_file;
  std::atomic<bool> paused{false};  // the pause happens once per process
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

// Writes <file>.reached, then waits for <file>: polled, since the test that releases the
// pause may be another process on another machine; bounded, so a test that never releases it
// does not leave a run hanging for good.
void Pause(const std::string& file) {
  // Renamed into place, so that the marker, once there, holds the pid.
  const std::string reached = file + ".reached";
  if (FILE* f = std::fopen((reached + ".tmp").c_str(), "w")) {
    std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
    std::fclose(f);
    std::rename((reached + ".tmp").c_str(), reached.c_str());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (::access(file.c_str(), F_OK) != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

CrashSpec* ReadSpec() {
  const char* at = std::getenv("LAKEPACK_CRASH_AT");
  const char* count_file = std::getenv("LAKEPACK_COUNT_OPS");
  const std::string pause =
      std::getenv("LAKEPACK_PAUSE_AT") ? std::getenv("LAKEPACK_PAUSE_AT") : "";
  const auto pause_colon = pause.find(':');
  const bool crash = at != nullptr && *at != '\0';
  const bool count = count_file != nullptr && *count_file != '\0';
  // <step>:<file>, both not empty.
  const bool pausing =
      pause_colon != std::string::npos && pause_colon > 0 && pause_colon + 1 < pause.size();
  if (!crash && !count && !pausing) return nullptr;
  auto* s = new CrashSpec;
  if (pausing) {
    s->pause_step = pause.substr(0, pause_colon);
    s->pause_file = pause.substr(pause_colon + 1);
  }
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
  if (!s->pause_step.empty() && s->pause_step == step && !s->paused.exchange(true)) {
    Pause(s->pause_file);
  }
}

}  // namespace lakepack
