// Parsing of S3 timestamps, ETags and Content-Range headers.
#include "store/s3/util.h"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace lakepack::s3 {

int64_t ParseIso8601Ns(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return 0;
  int64_t nanos = 0;
  if (*rest == '.') {
    ++rest;
    int64_t scale = 100000000;
    while (std::isdigit(static_cast<unsigned char>(*rest))) {
      nanos += (*rest - '0') * scale;
      scale /= 10;
      ++rest;
    }
  }
  return static_cast<int64_t>(timegm(&tm)) * 1000000000 + nanos;
}

int64_t ParseHttpDateNs(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000;
}

std::string StripQuotes(std::string_view etag) {
  if (etag.substr(0, 2) == "W/") etag.remove_prefix(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

bool LooksLikeMd5(std::string_view etag) {
  if (etag.size() != 32) return false;
  for (char c : etag) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::optional<ContentRange> ParseContentRange(std::string_view header) {
  std::string s(header);
  ContentRange r;
  long long first = 0, last = 0, total = 0;
  if (std::sscanf(s.c_str(), "bytes %lld-%lld/%lld", &first, &last, &total) == 3) {
    r.first = first;
    r.last = last;
    r.total = total;
    return r;
  }
  if (std::sscanf(s.c_str(), "bytes %lld-%lld/*", &first, &last) == 2) {
    r.first = first;
    r.last = last;
    return r;
  }
  return std::nullopt;
}

std::string RangeHeader(const ByteRange& range) {
  std::string out = "bytes=" + std::to_string(range.offset) + "-";
  if (range.length > 0) out += std::to_string(range.offset + range.length - 1);
  return out;
}

}  // namespace lakepack::s3
