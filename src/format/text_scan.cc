// lakepack's pass over CSV and JSON-lines files (see text_scan.h).
#include "format/text_scan.h"

#include "common/strings.h"

#include <fcntl.h>
#if defined(__SSE2__)
#include <emmintrin.h>  // every x86-64 has SSE2; elsewhere the scan goes a byte at a time
#endif
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace lakepack {

namespace {

constexpr char kQuote = '"';
// Delimiters lakepack tries, in order of preference on a tie.
constexpr std::array<char, 4> kDelimiters = {',', '\t', ';', '|'};
// Records after the header that decide the delimiter.
constexpr int kSniffRecords = 1000;
// Pages behind the cursor are dropped from memory every this many bytes, so that a scan's
// resident memory does not grow with the file.
constexpr size_t kReleaseEvery = 64u << 20;

// A read-only view of a whole file; pages already scanned can be released.
class MappedFile {
 public:
  ~MappedFile() {
    if (data_ && size_) ::munmap(const_cast<char*>(data_), size_);
  }
  Status Open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(path, errno);
    struct stat sb;
    if (::fstat(fd, &sb) != 0) {
      int e = errno;
      ::close(fd);
      return PosixError(path, e);
    }
    size_ = static_cast<size_t>(sb.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        size_ = 0;
        return PosixError(path, e);
      }
      ::madvise(p, size_, MADV_SEQUENTIAL);
      data_ = static_cast<const char*>(p);
    }
    ::close(fd);
    return Status::OK();
  }
  std::string_view view() const { return {data_, size_}; }
  // Drops the pages before `offset` from this process's memory (they stay in the page cache).
  void ReleaseBefore(size_t offset) {
    if (offset <= released_ + kReleaseEvery) return;  // called once per record: cheap first
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    size_t end = offset / page * page;
    if (end > released_ + kReleaseEvery) {
      ::madvise(const_cast<char*>(data_) + released_, end - released_, MADV_DONTNEED);
      released_ = end;
    }
  }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
  size_t released_ = 0;
};

// One CSV record as the splitter sees it.
struct Record {
  std::string_view text;  // with its line ending
  int64_t line = 0;       // first physical line
  int64_t fields = 0;
  bool blank = false;
  std::string problem;  // empty when the record is well-formed
};

// The first byte at or after `i` that the splitter must look at: outside quotes a delimiter,
// a quote, a line ending or a byte of a multi-byte UTF-8 sequence; inside quotes a quote, a
// line feed (lines are counted) or a non-ASCII byte. Sixteen bytes at a time: most bytes of a
// CSV are none of these, and this is most of the scan's time.
size_t NextSpecial(std::string_view data, size_t i, char delim, bool in_quotes) {
  const char* p = data.data();
  const size_t n = data.size();
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8(kQuote), lf = _mm_set1_epi8('\n');
  // Inside quotes the delimiter and CR are plain: compare with the quote again instead.
  const __m128i d = _mm_set1_epi8(in_quotes ? kQuote : delim);
  const __m128i cr = _mm_set1_epi8(in_quotes ? kQuote : '\r');
  for (; i + 16 <= n; i += 16) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, lf)),
                               _mm_or_si128(_mm_cmpeq_epi8(x, d), _mm_cmpeq_epi8(x, cr)));
    // movemask of the bytes themselves: their high bits, set on every non-ASCII byte.
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit) | _mm_movemask_epi8(x));
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(mask));
  }
#endif
  for (; i < n; i++) {
    char c = p[i];
    if (c == kQuote || c == '\n' || static_cast<unsigned char>(c) >= 0x80 ||
        (!in_quotes && (c == delim || c == '\r'))) {
      break;
    }
  }
  return i;
}

// Splits `data` into RFC 4180 records with `delim`, calling on_record(const Record&) for each
// until it returns false.
template <typename Fn>
void SplitCsv(std::string_view data, char delim, MappedFile* file, Fn&& on_record) {
  size_t i = 0;
  int64_t line = 1;
  while (i < data.size()) {
    Record r;
    r.line = line;
    r.fields = 1;
    size_t start = i;
    bool in_quotes = false, after_quote = false, field_start = true;
    int64_t quote_line = 0;
    while (i < data.size()) {
      if (!after_quote) {
        // Plain bytes change nothing but that a field has begun (outside quotes).
        size_t next = NextSpecial(data, i, delim, in_quotes);
        if (next > i && !in_quotes) field_start = false;
        i = next;
        if (i >= data.size()) break;
      }
      char c = data[i];
      if (static_cast<unsigned char>(c) >= 0x80) {
        size_t n = Utf8SequenceLength(data, i);
        if (n == 0) {
          if (r.problem.empty()) {
            r.problem = fmt::format("not valid UTF-8 (byte 0x{:02X} at byte {} of the record)",
                                    static_cast<unsigned char>(c), i - start + 1);
          }
          n = 1;
        }
        if (after_quote && r.problem.empty()) r.problem = "unexpected text after a closing quote";
        i += n;
        field_start = false;
        continue;
      }
      i++;
      if (c == '\n') line++;
      if (in_quotes) {
        if (c == kQuote) in_quotes = false, after_quote = true;
        continue;
      }
      if (after_quote) {
        after_quote = false;
        if (c == kQuote) {  // "" inside a quoted field
          in_quotes = true;
          continue;
        }
        if (c != delim && c != '\n' && c != '\r' && r.problem.empty()) {
          r.problem = "unexpected text after a closing quote";
        }
      }
      if (c == '\n') break;
      if (c == delim) {
        r.fields++;
        field_start = true;
      } else if (c == kQuote && field_start) {
        in_quotes = true;
        quote_line = line;
        field_start = false;
      } else if (c != '\r') {
        field_start = false;
      }
    }
    r.text = data.substr(start, i - start);
    std::string_view body = r.text;
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
    r.blank = body.empty();
    if (in_quotes) {
      r.problem = fmt::format("a quoted field opened on line {} is never closed", quote_line);
    } else if (static_cast<int64_t>(body.size()) > kMaxRecordBytes && r.problem.empty()) {
      r.problem = fmt::format("the record is {} bytes long, over the limit of {} bytes",
                              body.size(), kMaxRecordBytes);
    }
    if (file) file->ReleaseBefore(i);
    if (!on_record(r)) return;
  }
}

// The delimiter of a CSV: the candidate that splits the header into the most consistent
// fields; ',' for a file of one column.
char DetectDelimiter(std::string_view data) {
  char best = ',';
  int64_t best_consistent = -1, best_fields = 1;
  for (char d : kDelimiters) {
    int64_t header = 0, consistent = 0;
    int seen = 0;
    SplitCsv(data, d, nullptr, [&](const Record& r) {
      if (header == 0) {
        header = r.fields;
        return header > 1;
      }
      if (!r.blank && r.fields == header) consistent++;
      return ++seen < kSniffRecords;
    });
    if (header <= 1) continue;
    if (consistent > best_consistent || (consistent == best_consistent && header > best_fields)) {
      best = d, best_consistent = consistent, best_fields = header;
    }
  }
  return best;
}

// Writes the records kept by a scan with rejects.
class CleanCopy {
 public:
  ~CleanCopy() {
    if (f_) std::fclose(f_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "wb");
    return f_ ? Status::OK() : PosixError(path, errno);
  }
  void Write(std::string_view text) {
    if (f_ && std::fwrite(text.data(), 1, text.size(), f_) != text.size()) ok_ = false;
    // A last record without a line ending gets one, so that the next record stays apart.
    if (f_ && !text.empty() && text.back() != '\n' && std::fputc('\n', f_) == EOF) ok_ = false;
  }
  Status Close() {
    bool ok = ok_ && f_ && std::fclose(f_) == 0;
    f_ = nullptr;
    return ok ? Status::OK() : Status::IOError(path_ + ": cannot write the cleaned copy");
  }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
  bool ok_ = true;
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

Result<TextScan> ScanCsv(const std::string& path, std::string_view data, MappedFile& file,
                         char delimiter, const RejectFn& on_reject, CleanCopy* clean) {
  TextScan scan;
  if (data.empty()) return scan;  // no header, no columns, no rows
  size_t bom = data.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  std::string_view body = data.substr(bom);
  scan.delimiter = delimiter ? delimiter : DetectDelimiter(body);
  Status failed;
  bool header_done = false;
  SplitCsv(body, scan.delimiter, &file, [&](const Record& r) {
    std::string problem = r.problem;
    if (!header_done) {
      header_done = true;
      if (problem.empty() && r.blank) problem = "the header line is empty";
      if (!problem.empty()) {
        // Without a header nothing can be read: not even --rejects can help.
        failed = Status::Corruption(fmt::format("{}: line {}: {}", path, r.line, problem));
        return false;
      }
      scan.header_fields = r.fields;
      if (clean) clean->Write(r.text);
      return true;
    }
    if (r.blank && scan.header_fields > 1) return true;  // not a row
    if (problem.empty() && !r.blank && r.fields != scan.header_fields) {
      problem = fmt::format("{} fields, but the header has {}", r.fields, scan.header_fields);
    }
    if (problem.empty()) {
      scan.rows++;
      if (clean) clean->Write(r.text);
      return true;
    }
    if (!on_reject) {
      failed = Status::Corruption(fmt::format("{}: line {}: {}", path, r.line, problem));
      return false;
    }
    scan.rejected++;
    on_reject(BadRecord{r.line, problem, r.text});
    return true;
  });
  if (!failed.ok()) return failed;
  return scan;
}

Result<TextScan> ScanJsonLines(const std::string& path, std::string_view data, MappedFile& file,
                               const RejectFn& on_reject, CleanCopy* clean) {
  TextScan scan;
  size_t i = 0;
  int64_t line = 0;
  while (i < data.size()) {
    size_t nl = data.find('\n', i);
    size_t end = nl == std::string_view::npos ? data.size() : nl + 1;
    std::string_view text = data.substr(i, end - i);
    i = end;
    line++;
    file.ReleaseBefore(i);
    std::string_view body = Trim(text);
    if (body.empty()) continue;  // not a row
    std::string problem;
    if (static_cast<int64_t>(body.size()) > kMaxRecordBytes) {
      problem = fmt::format("the line is {} bytes long, over the limit of {} bytes", body.size(),
                            kMaxRecordBytes);
    } else if (body.front() != '{') {
      problem = "not a JSON object (each line must hold one {...} record)";
    } else if (!nlohmann::json::accept(body)) {
      problem = "not valid JSON";
    }
    if (problem.empty()) {
      scan.rows++;
      if (clean) clean->Write(text);
      continue;
    }
    if (!on_reject) return Status::Corruption(fmt::format("{}: line {}: {}", path, line, problem));
    scan.rejected++;
    on_reject(BadRecord{line, problem, text});
  }
  return scan;
}

}  // namespace

Result<TextScan> ScanTextFile(const std::string& path, FileFormat format, char delimiter,
                              const RejectFn& on_reject, const std::string& clean_path) {
  MappedFile file;
  LP_RETURN_IF_ERROR(file.Open(path));
  CleanCopy clean;
  CleanCopy* out = nullptr;
  if (on_reject) {
    LP_RETURN_IF_ERROR(clean.Open(clean_path));
    out = &clean;
  }
  Result<TextScan> scan = format == FileFormat::kCsv
                              ? ScanCsv(path, file.view(), file, delimiter, on_reject, out)
                              : ScanJsonLines(path, file.view(), file, on_reject, out);
  if (out) {
    Status closed = clean.Close();
    if (scan.ok() && !closed.ok()) return closed;
  }
  return scan;
}

}  // namespace lakepack
