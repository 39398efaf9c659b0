#include "common/process_tag.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace lakepack {

namespace {

std::string Host() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  std::string h = buf;
  for (char& c : h) {
    if (c == '/') c = '_';
  }
  return h;
}

}  // namespace

const std::string& ThisProcessTag() {
  static const std::string tag = std::to_string(::getpid()) + "@" + Host();
  return tag;
}

bool IsDeadProcessHere(std::string_view tag) {
  size_t at = tag.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  static const std::string host = Host();
  if (tag.substr(at + 1) != host) return false;
  int pid = 0;
  auto [p, ec] = std::from_chars(tag.data(), tag.data() + at, pid);
  if (ec != std::errc() || p != tag.data() + at || pid <= 0) return false;
  // A reused pid keeps the leftover (the safe side); ESRCH alone means gone.
  return ::kill(pid, 0) != 0 && errno == ESRCH;
}

}  // namespace lakepack
