// Shared string helpers (see strings.h).
#include "common/strings.h"

#include <fmt/format.h>

#include <cctype>

namespace lakepack {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

std::string NameOnce(std::string message) {
  // The leading "subject: " segments: an output, then the input at fault, say.
  size_t start = 0;
  for (int segment = 0; segment < 3; segment++) {
    const size_t colon = message.find(": ", start);
    if (colon == std::string::npos) break;
    const std::string subject = message.substr(start, colon - start);
    start = colon + 2;
    if (subject.size() < 3 || subject.find_first_of("/.") == std::string::npos) continue;
    auto replace_all = [&](const std::string& from, const std::string& to) {
      for (size_t at = start; (at = message.find(from, at)) != std::string::npos; at += to.size()) {
        message.replace(at, from.size(), to);
      }
    };
    for (const char* q : {"'", "\""}) {
      const std::string quoted = q + subject + q;
      replace_all("File " + quoted + " ", "");
      replace_all(" file " + quoted, " the file");
      replace_all(" File " + quoted, " the file");
      replace_all(quoted, "the file");
    }
  }
  return message;
}

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    u++;
  }
  return u == 0 ? fmt::format("{:.0f} B", b) : fmt::format("{:.1f} {}", b, units[u]);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string BaseName(std::string_view key) {
  auto slash = key.rfind('/');
  return std::string(slash == std::string_view::npos ? key : key.substr(slash + 1));
}

std::string DirOf(std::string_view key) {
  auto slash = key.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(key.substr(0, slash + 1));
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

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t min;
  if (b < 0x80) return 1;
  if ((b & 0xE0) == 0xC0) {
    n = 2, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  uint32_t cp = b & (0x7F >> n);
  for (size_t k = 1; k < n; k++) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace lakepack
