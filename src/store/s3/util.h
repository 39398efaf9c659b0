// Small parsers for what S3 responses carry: timestamps, ETags, Content-Range, and the
// payload (memory or file) that uploads read from. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack::s3 {

//! "2009-10-12T17:50:30.000Z" (listings) → nanoseconds since the epoch; 0 when unparsable.
int64_t ParseIso8601Ns(std::string_view text);
//! "Wed, 12 Oct 2009 17:50:30 GMT" (Last-Modified) → nanoseconds; 0 when unparsable.
int64_t ParseHttpDateNs(std::string_view text);
//! The ETag without its quotes ("\"abc\"" → "abc"; W/ weak prefixes dropped too).
std::string StripQuotes(std::string_view etag);
//! 32 hex digits: the ETag of a single-part, non-KMS object is the MD5 of its content.
bool LooksLikeMd5(std::string_view etag);

//! "bytes 0-99/1000" → first 0, last 99, total 1000 (total -1 for "*").
struct ContentRange {
  int64_t first = 0;
  int64_t last = -1;
  int64_t total = -1;
};
std::optional<ContentRange> ParseContentRange(std::string_view header);

//! The Range header value for a ByteRange: "bytes=10-19", "bytes=10-". REQUIRES: not whole,
//! offset ≥ 0, length != 0.
std::string RangeHeader(const ByteRange& range);

//! What an upload reads from: memory, or a file (opened by the caller).
struct Payload {
  std::string_view data;  // when fd < 0
  int fd = -1;
  std::string path;  // for messages
  int64_t size = 0;
};

}  // namespace lakepack::s3
