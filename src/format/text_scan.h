// lakepack's own pass over CSV and JSON-lines files, before the engine reads them. DuckDB's
// sniffer guesses per file how many lines to skip and whether there is a header, and falls back
// to one column when rows are ragged: rows then vanish or change shape without an error. So
// lakepack decides the dialect itself, checks every record, and counts the rows the engine
// must return; the engine's row count is compared with that count after every read.
//
// Rules (docs/formats.md): a CSV's first record is its header; every record has as many fields
// as the header; quotes are RFC 4180 ('"', doubled inside a quoted field); a UTF-8 BOM is
// dropped; blank lines are not rows unless the file has a single column (then a blank line is
// a NULL value); every byte is UTF-8; a record is at most kMaxRecordBytes. A JSON-lines file
// holds one JSON object per non-blank line.
//
// Thread-safety: free functions over their arguments; the callback is called on the caller's
// thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lakepack/format.h"
#include "lakepack/status.h"

namespace lakepack {

//! The longest CSV record or JSON line lakepack reads (the engine is told the same limit).
inline constexpr int64_t kMaxRecordBytes = 8LL << 20;

//! One record that cannot be read: its first physical line (1-based), why, and its bytes.
struct BadRecord {
  int64_t line = 0;
  std::string reason;
  std::string_view text;
};

//! What a scan found.
struct TextScan {
  char delimiter = ',';       // CSV only
  int64_t header_fields = 0;  // CSV only; 0 for an empty (0-byte) file
  int64_t rows = 0;           // data rows the engine must read (bad records excluded)
  int64_t rejected = 0;       // bad records passed to the callback
};

//! Called for each bad record when the caller diverts them (`--rejects`); without a callback
//! the first bad record ends the scan with Corruption "PATH: line N: reason".
using RejectFn = std::function<void(const BadRecord&)>;

//! Scans `path` (CSV when format is kCsv, else JSON lines). `delimiter` 0: lakepack decides it
//! from the header and the records after it (',', tab, ';' or '|'). With `on_reject`, every
//! good record (and the header) is copied to `clean_path`, which the engine then reads instead.
Result<TextScan> ScanTextFile(const std::string& path, FileFormat format, char delimiter,
                              const RejectFn& on_reject = nullptr,
                              const std::string& clean_path = "");

}  // namespace lakepack
