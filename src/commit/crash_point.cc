// Crash points for the crash tests (see crash_point.h).
#include "commit/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>

namespace lakepack {

namespace {
struct CrashSpec {
  std::string step;
  int count = 1;
  std::atomic<int> seen{0};
};

CrashSpec* Spec() {
  static CrashSpec* spec = [] {
    const char* env = std::getenv("LAKEPACK_CRASH_AT");
    if (!env || !*env) return static_cast<CrashSpec*>(nullptr);
    auto* s = new CrashSpec;
    std::string v = env;
    auto colon = v.find(':');
    s->step = v.substr(0, colon);
    if (colon != std::string::npos) s->count = std::atoi(v.c_str() + colon + 1);
    return s;
  }();
  return spec;
}
}  // namespace

void CrashPoint(std::string_view step) {
  CrashSpec* s = Spec();
  if (s == nullptr || s->step != step) return;
  if (s->seen.fetch_add(1) + 1 >= s->count) {
    ::kill(::getpid(), SIGKILL);
    ::pause();
  }
}

}  // namespace lakepack
