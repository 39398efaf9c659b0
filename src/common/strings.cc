// Shared string helpers (see strings.h).
#include "common/strings.h"

#include <cctype>

namespace lakepack {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string BaseName(std::string_view key) {
  auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

std::string RootName(std::string_view uri) {
  while (!uri.empty() && uri.back() == '/') uri.remove_suffix(1);
  return BaseName(uri);
}

std::string ShowPathAs(std::string message, std::string_view local, std::string_view shown) {
  if (local.empty() || local == shown) return message;
  for (size_t at = 0; (at = message.find(local, at)) != std::string::npos;) {
    // A local path already named as a file:// URI (local stores are read in place) stays.
    if (at >= 7 && message.compare(at - 7, 7, "file://") == 0) {
      at += local.size();
      continue;
    }
    message.replace(at, local.size(), shown);
    at += shown.size();
  }
  return message;
}

Status ShowPathAs(const Status& status, std::string_view local, std::string_view shown) {
  if (status.ok()) return status;
  return Status(status.code(), ShowPathAs(status.message(), local, shown));
}

uint64_t Fnv1a(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace lakepack
