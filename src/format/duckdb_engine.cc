// The format engine over DuckDB's C API. This is the only file that includes duckdb.h: every
// DuckDB error is translated into a Status here, with the file it concerns named.
#include <dlfcn.h>
#include <duckdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "format/sql.h"
#include "format/text_scan.h"
#include "lakepack/format.h"

// DuckDB is loaded when the first engine opens (or its version is asked for), not when the
// process starts. The dynamic loader's resolution of libduckdb's 37,000 symbol relocations
// costs every lakepack process about 20 ms. Commands that never open an engine (repartition,
// recover, watch's scans, inspect of Avro) need not pay it. The library is the one beside
// the executable (its RUNPATH: the build tree, or ../lib once installed),
// LAKEPACK_DUCKDB_LIBRARY when set, or the path the build found.
// The C API functions this file calls, each resolved once with dlsym. A call to one missing
// from this list and from the #defines below fails to link (DuckDB is not linked): add it to
// both.
#define LP_DUCKDB_FUNCTIONS(X)               \
  X(duckdb_bind_add_result_column)           \
  X(duckdb_bind_get_parameter)               \
  X(duckdb_bind_set_bind_data)               \
  X(duckdb_bind_set_cardinality)             \
  X(duckdb_bind_set_error)                   \
  X(duckdb_close)                            \
  X(duckdb_column_count)                     \
  X(duckdb_column_name)                      \
  X(duckdb_connect)                          \
  X(duckdb_create_config)                    \
  X(duckdb_create_data_chunk)                \
  X(duckdb_create_decimal_type)              \
  X(duckdb_create_list_type)                 \
  X(duckdb_create_logical_type)              \
  X(duckdb_create_table_function)            \
  X(duckdb_data_chunk_get_size)              \
  X(duckdb_data_chunk_get_vector)            \
  X(duckdb_data_chunk_set_size)              \
  X(duckdb_destroy_config)                   \
  X(duckdb_destroy_data_chunk)               \
  X(duckdb_destroy_logical_type)             \
  X(duckdb_destroy_result)                   \
  X(duckdb_destroy_table_function)           \
  X(duckdb_destroy_value)                    \
  X(duckdb_disconnect)                       \
  X(duckdb_free)                             \
  X(duckdb_function_get_bind_data)           \
  X(duckdb_function_get_init_data)           \
  X(duckdb_get_int64)                        \
  X(duckdb_init_set_init_data)               \
  X(duckdb_init_set_max_threads)             \
  X(duckdb_library_version)                  \
  X(duckdb_list_vector_get_child)            \
  X(duckdb_list_vector_get_size)             \
  X(duckdb_list_vector_reserve)              \
  X(duckdb_list_vector_set_size)             \
  X(duckdb_logical_type_set_alias)           \
  X(duckdb_open_ext)                         \
  X(duckdb_query)                            \
  X(duckdb_register_table_function)          \
  X(duckdb_result_error)                     \
  X(duckdb_result_error_type)                \
  X(duckdb_row_count)                        \
  X(duckdb_set_config)                       \
  X(duckdb_table_function_add_parameter)     \
  X(duckdb_table_function_set_bind)          \
  X(duckdb_table_function_set_function)      \
  X(duckdb_table_function_set_init)          \
  X(duckdb_table_function_set_name)          \
  X(duckdb_validity_set_row_invalid)         \
  X(duckdb_value_is_null)                    \
  X(duckdb_value_varchar)                    \
  X(duckdb_vector_assign_string_element_len) \
  X(duckdb_vector_ensure_validity_writable)  \
  X(duckdb_vector_get_data)                  \
  X(duckdb_vector_get_validity)              \
  X(duckdb_vector_reference_vector)          \
  X(duckdb_vector_size)

namespace lakepack {
namespace {

struct DuckDbApi {
#define LP_DUCKDB_MEMBER(name) decltype(&::name) name = nullptr;
  LP_DUCKDB_FUNCTIONS(LP_DUCKDB_MEMBER)
#undef LP_DUCKDB_MEMBER
  std::string error;  // why DuckDB could not be loaded; empty once it is
};

const DuckDbApi& LoadDuckDb() {
  static const DuckDbApi api = [] {
    DuckDbApi a;
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("LAKEPACK_DUCKDB_LIBRARY"); env != nullptr && *env) {
      candidates.push_back(env);
    }
    candidates.push_back("libduckdb.so");
#ifdef LAKEPACK_DUCKDB_LIBRARY
    candidates.push_back(LAKEPACK_DUCKDB_LIBRARY);
#endif
    void* lib = nullptr;
    std::string tried;
    for (const auto& c : candidates) {
      lib = ::dlopen(c.c_str(), RTLD_LAZY | RTLD_LOCAL);
      if (lib != nullptr) break;
      const char* why = ::dlerror();
      tried += (tried.empty() ? "" : "; ") + std::string(why ? why : c);
    }
    if (lib == nullptr) {
      a.error = "cannot load DuckDB (" + tried + ")";
      return a;
    }
#define LP_DUCKDB_RESOLVE(name)                                                 \
  a.name = reinterpret_cast<decltype(a.name)>(::dlsym(lib, #name));             \
  if (a.name == nullptr && a.error.empty()) {                                   \
    a.error = "the DuckDB library has no " #name " (a DuckDB older than 1.4?)"; \
  }
    LP_DUCKDB_FUNCTIONS(LP_DUCKDB_RESOLVE)
#undef LP_DUCKDB_RESOLVE
    return a;
  }();
  return api;
}

// Every call below goes through here. FormatEngine::Open and LibraryVersion load the library
// first and report a failure as a Status; no other call can come before them.
const DuckDbApi& Duck() {
  const DuckDbApi& a = LoadDuckDb();
  if (!a.error.empty()) {
    std::fprintf(stderr, "lakepack: %s\n", a.error.c_str());
    std::abort();
  }
  return a;
}

}  // namespace
}  // namespace lakepack

// The calls below name the C API as usual; each name resolves through the table.
#define duckdb_bind_add_result_column (Duck().duckdb_bind_add_result_column)
#define duckdb_bind_get_parameter (Duck().duckdb_bind_get_parameter)
#define duckdb_bind_set_bind_data (Duck().duckdb_bind_set_bind_data)
#define duckdb_bind_set_cardinality (Duck().duckdb_bind_set_cardinality)
#define duckdb_bind_set_error (Duck().duckdb_bind_set_error)
#define duckdb_close (Duck().duckdb_close)
#define duckdb_column_count (Duck().duckdb_column_count)
#define duckdb_column_name (Duck().duckdb_column_name)
#define duckdb_connect (Duck().duckdb_connect)
#define duckdb_create_config (Duck().duckdb_create_config)
#define duckdb_create_data_chunk (Duck().duckdb_create_data_chunk)
#define duckdb_create_decimal_type (Duck().duckdb_create_decimal_type)
#define duckdb_create_list_type (Duck().duckdb_create_list_type)
#define duckdb_create_logical_type (Duck().duckdb_create_logical_type)
#define duckdb_create_table_function (Duck().duckdb_create_table_function)
#define duckdb_data_chunk_get_size (Duck().duckdb_data_chunk_get_size)
#define duckdb_data_chunk_get_vector (Duck().duckdb_data_chunk_get_vector)
#define duckdb_data_chunk_set_size (Duck().duckdb_data_chunk_set_size)
#define duckdb_destroy_config (Duck().duckdb_destroy_config)
#define duckdb_destroy_data_chunk (Duck().duckdb_destroy_data_chunk)
#define duckdb_destroy_logical_type (Duck().duckdb_destroy_logical_type)
#define duckdb_destroy_result (Duck().duckdb_destroy_result)
#define duckdb_destroy_table_function (Duck().duckdb_destroy_table_function)
#define duckdb_destroy_value (Duck().duckdb_destroy_value)
#define duckdb_disconnect (Duck().duckdb_disconnect)
#define duckdb_free (Duck().duckdb_free)
#define duckdb_function_get_bind_data (Duck().duckdb_function_get_bind_data)
#define duckdb_function_get_init_data (Duck().duckdb_function_get_init_data)
#define duckdb_get_int64 (Duck().duckdb_get_int64)
#define duckdb_init_set_init_data (Duck().duckdb_init_set_init_data)
#define duckdb_init_set_max_threads (Duck().duckdb_init_set_max_threads)
#define duckdb_library_version (Duck().duckdb_library_version)
#define duckdb_list_vector_get_child (Duck().duckdb_list_vector_get_child)
#define duckdb_list_vector_get_size (Duck().duckdb_list_vector_get_size)
#define duckdb_list_vector_reserve (Duck().duckdb_list_vector_reserve)
#define duckdb_list_vector_set_size (Duck().duckdb_list_vector_set_size)
#define duckdb_logical_type_set_alias (Duck().duckdb_logical_type_set_alias)
#define duckdb_open_ext (Duck().duckdb_open_ext)
#define duckdb_query (Duck().duckdb_query)
#define duckdb_register_table_function (Duck().duckdb_register_table_function)
#define duckdb_result_error (Duck().duckdb_result_error)
#define duckdb_result_error_type (Duck().duckdb_result_error_type)
#define duckdb_row_count (Duck().duckdb_row_count)
#define duckdb_set_config (Duck().duckdb_set_config)
#define duckdb_table_function_add_parameter (Duck().duckdb_table_function_add_parameter)
#define duckdb_table_function_set_bind (Duck().duckdb_table_function_set_bind)
#define duckdb_table_function_set_function (Duck().duckdb_table_function_set_function)
#define duckdb_table_function_set_init (Duck().duckdb_table_function_set_init)
#define duckdb_table_function_set_name (Duck().duckdb_table_function_set_name)
#define duckdb_validity_set_row_invalid (Duck().duckdb_validity_set_row_invalid)
#define duckdb_value_is_null (Duck().duckdb_value_is_null)
#define duckdb_value_varchar (Duck().duckdb_value_varchar)
#define duckdb_vector_assign_string_element_len (Duck().duckdb_vector_assign_string_element_len)
#define duckdb_vector_ensure_validity_writable (Duck().duckdb_vector_ensure_validity_writable)
#define duckdb_vector_get_data (Duck().duckdb_vector_get_data)
#define duckdb_vector_get_validity (Duck().duckdb_vector_get_validity)
#define duckdb_vector_reference_vector (Duck().duckdb_vector_reference_vector)
#define duckdb_vector_size (Duck().duckdb_vector_size)

namespace lakepack {

namespace {

using Row = std::vector<std::optional<std::string>>;

struct Table {
  std::vector<std::string> names;
  std::vector<Row> rows;
};

// DuckDB messages run to several lines (CSV errors add the offending line, hints and options).
// Users get one line: the first, with DuckDB's "Xxx Error: " prefix removed; the caller adds
// the file name in front.
std::string FirstLine(std::string_view msg) {
  auto nl = msg.find('\n');
  std::string line(msg.substr(0, nl));
  static constexpr std::string_view kPrefixes[] = {
      "Invalid Input Error: ", "IO Error: ",         "Conversion Error: ",
      "Binder Error: ",        "Parser Error: ",     "Invalid Error: ",
      "Out of Memory Error: ", "Permission Error: ", "Not implemented Error: ",
      "Serialization Error: ", "Internal Error: ",   "Catalog Error: "};
  for (auto p : kPrefixes) {
    if (line.rfind(p, 0) == 0) {
      line.erase(0, p.size());
      break;
    }
  }
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
  return line;
}

bool Contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

// The one translation from a DuckDB error to a Status. `what` names the file(s) concerned.
Status TranslateError(duckdb_error_type type, std::string_view raw, std::string_view what_in) {
  std::string msg = FirstLine(raw);
  std::string what(what_in);
  // Multi-file reads: DuckDB names the file at fault in a "file = ..." line.
  if (auto pos = raw.find("\n  file = "); pos != std::string_view::npos) {
    auto start = pos + 10;
    what = std::string(raw.substr(start, raw.find('\n', start) - start));
  }
  if (Contains(raw, "Error when sniffing file")) {
    return Status::Corruption(fmt::format(
        "{}: cannot parse as CSV: its rows do not share one delimiter, quoting and number of "
        "fields",
        what));
  }
  if (auto pos = raw.find("CSV Error on Line: "); pos != std::string_view::npos) {
    // "CSV Error on Line: N\nOriginal Line: ...\n<reason>\n..."
    std::string line_no(raw.substr(pos + 19, raw.find('\n', pos) - pos - 19));
    std::string reason;
    size_t cur = raw.find('\n', pos);
    while (cur != std::string_view::npos) {
      size_t next = raw.find('\n', cur + 1);
      std::string_view l =
          raw.substr(cur + 1, next == std::string_view::npos ? next : next - cur - 1);
      cur = next;
      if (l.rfind("Original Line:", 0) == 0 || l.empty()) continue;
      reason = std::string(l);
      break;
    }
    return Status::Corruption(fmt::format("{}: CSV error on line {}: {}", what, line_no, reason));
  }
  std::string full = fmt::format("{}: {}", what, msg);
  if (Contains(raw, "No files found that match the pattern") ||
      Contains(raw, "No such file or directory")) {
    return Status::NotFound(fmt::format("{}: no such file", what));
  }
  // A footer cut or overwritten: DuckDB's Thrift decoder says only what it tripped on.
  if (Contains(raw, "TProtocolException") || Contains(raw, "don't know what type")) {
    return Status::Corruption(fmt::format(
        "{}: not a Parquet file or truncated (its footer cannot be decoded: {})", what, msg));
  }
  if (Contains(raw, "No magic bytes found") || Contains(raw, "too small to be a Parquet file")) {
    return Status::Corruption(fmt::format("{}: not a Parquet file or truncated ({})", what, msg));
  }
  if (Contains(raw, "Permission denied")) return Status::IOError(full);
  switch (type) {
    case DUCKDB_ERROR_IO:
    case DUCKDB_ERROR_PERMISSION:
    case DUCKDB_ERROR_OUT_OF_MEMORY:
    case DUCKDB_ERROR_INTERRUPT:
      return Status::IOError(full);
    case DUCKDB_ERROR_INVALID_INPUT:
    case DUCKDB_ERROR_CONVERSION:
    case DUCKDB_ERROR_OUT_OF_RANGE:
    case DUCKDB_ERROR_SERIALIZATION:
    case DUCKDB_ERROR_MISMATCH_TYPE:
    case DUCKDB_ERROR_DECIMAL:
      return Status::Corruption(full);
    case DUCKDB_ERROR_BINDER:
    case DUCKDB_ERROR_PARSER:
    case DUCKDB_ERROR_CATALOG:
    case DUCKDB_ERROR_NOT_IMPLEMENTED:
      // Mostly data whose shape cannot be read (e.g. JSON that is not records).
      return Status::Corruption(full);
    default:
      return Status::IOError(full);
  }
}

}  // namespace

class FormatEngine::Impl {
 public:
  ~Impl() {
    for (auto& [key, sc] : scanned_) {
      if (!sc.clean.empty()) ::unlink(sc.clean.c_str());
    }
    if (con_) duckdb_disconnect(&con_);
    if (db_) duckdb_close(&db_);
  }

  Status Init(const EngineOptions& options) {
    temp_dir_ = options.temp_dir;
    duckdb_config config;
    if (duckdb_create_config(&config) == DuckDBError) {
      return Status::IOError("format engine: cannot create DuckDB configuration");
    }
    // lakepack must never reach the network on its own: no extension downloads.
    std::vector<std::pair<std::string, std::string>> settings = {
        {"autoinstall_known_extensions", "false"},
        {"autoload_known_extensions", "true"},
        {"enable_external_access", "true"},
    };
    if (!options.memory_limit.empty()) settings.emplace_back("memory_limit", options.memory_limit);
    if (options.threads > 0) settings.emplace_back("threads", std::to_string(options.threads));
    if (!options.temp_dir.empty()) settings.emplace_back("temp_directory", options.temp_dir);
    for (auto& [k, v] : settings) {
      if (duckdb_set_config(config, k.c_str(), v.c_str()) == DuckDBError) {
        duckdb_destroy_config(&config);
        return Status::InvalidArgument(fmt::format("format engine: bad setting {}={}", k, v));
      }
    }
    char* err = nullptr;
    duckdb_state st = duckdb_open_ext(nullptr, &db_, config, &err);
    duckdb_destroy_config(&config);
    if (st == DuckDBError) {
      std::string msg = err ? err : "unknown error";
      if (err) duckdb_free(err);
      return Status::IOError("format engine: cannot open DuckDB: " + FirstLine(msg));
    }
    if (duckdb_connect(db_, &con_) == DuckDBError) {
      return Status::IOError("format engine: cannot connect to DuckDB");
    }
    return Status::OK();
  }

  // Runs one statement; `what` names the files for error messages.
  Result<Table> Query(const std::string& sql, std::string_view what) {
    duckdb_result res;
    if (duckdb_query(con_, sql.c_str(), &res) == DuckDBError) {
      const char* e = duckdb_result_error(&res);
      Status s = TranslateError(duckdb_result_error_type(&res), e ? e : "unknown error", what);
      duckdb_destroy_result(&res);
      return s;
    }
    Table t;
    idx_t cols = duckdb_column_count(&res);
    idx_t rows = duckdb_row_count(&res);
    for (idx_t c = 0; c < cols; c++) t.names.emplace_back(duckdb_column_name(&res, c));
    t.rows.reserve(rows);
    for (idx_t r = 0; r < rows; r++) {
      Row row;
      row.reserve(cols);
      for (idx_t c = 0; c < cols; c++) {
        if (duckdb_value_is_null(&res, c, r)) {
          row.emplace_back(std::nullopt);
        } else {
          char* v = duckdb_value_varchar(&res, c, r);
          row.emplace_back(v ? std::string(v) : std::string());
          if (v) duckdb_free(v);
        }
      }
      t.rows.push_back(std::move(row));
    }
    duckdb_destroy_result(&res);
    return t;
  }

  //! The files of a read as DuckDB gets them, after lakepack's own pass over each CSV and
  //! JSON-lines file (text_scan.h).
  struct Prepared {
    std::vector<sql::ReadFile> files;  // 0-byte CSVs left out: they have no columns
    int64_t text_rows = 0;             // records lakepack counted in the text files
    bool all_text = true;              // every file is CSV or JSON lines: text_rows is the total
    std::string first_empty;           // a 0-byte CSV among the inputs, for messages
    std::vector<std::pair<std::string, std::string>> cleaned;  // (cleaned copy, original)
  };

  static std::vector<ColumnInfo> JsonColumns(FileFormat f, const ReadSpec& in) {
    return f == FileFormat::kJsonLines ? in.json_columns : std::vector<ColumnInfo>{};
  }

  Result<Prepared> Prepare(const ReadSpec& in) {
    Prepared p;
    for (const auto& path : in.paths) {
      FileFormat f = in.format != FileFormat::kUnknown ? in.format : FormatFromPath(path);
      if (f != FileFormat::kCsv && f != FileFormat::kJsonLines) {
        p.all_text = false;
        p.files.push_back({path, f, ','});
        continue;
      }
      LP_ASSIGN_OR_RETURN(const Scanned* sc, Scan(path, f, in));
      if (f == FileFormat::kCsv && sc->scan.header_fields == 0) {
        if (p.first_empty.empty()) p.first_empty = path;
        continue;
      }
      p.text_rows += sc->scan.rows;
      if (!sc->clean.empty()) {
        p.files.push_back({sc->clean, f, sc->scan.delimiter, JsonColumns(f, in)});
        p.cleaned.emplace_back(sc->clean, path);
      } else {
        p.files.push_back({path, f, sc->scan.delimiter, JsonColumns(f, in)});
      }
    }
    return p;
  }

  //! A message about a cleaned copy names the file the user gave.
  static Status Original(Status st, const Prepared& p) {
    if (st.ok() || p.cleaned.empty()) return st;
    std::string msg = st.message();
    for (const auto& [clean, orig] : p.cleaned) {
      for (size_t pos; (pos = msg.find(clean)) != std::string::npos;) {
        msg.replace(pos, clean.size(), orig);
      }
    }
    return Status(st.code(), msg);
  }

  //! The engine must return exactly the rows lakepack counted: anything else means rows were
  //! dropped or invented on the way, and the read fails instead.
  static Status CheckRows(const Prepared& p, int64_t rows, std::string_view what) {
    if (!p.all_text || rows == p.text_rows) return Status::OK();
    return Status::Corruption(
        fmt::format("{}: the engine read {} rows, but the file holds {} records: nothing was "
                    "written",
                    what, rows, p.text_rows));
  }

  //! The rows of a prepared read: lakepack's count of the text files' records plus the
  //! Parquet files' footers.
  Result<int64_t> FooterRows(const Prepared& p, std::string_view what);

  //! The united columns of a prepared read (none when only 0-byte CSVs are read).
  Result<std::vector<ColumnInfo>> SchemaOf(const Prepared& p, std::string_view what);

  duckdb_connection connection() const { return con_; }
  bool row_buffer_function = false;  // _lp_row_buffer is registered in this database

 private:
  struct Scanned {
    int64_t size = -1;
    int64_t mtime_ns = -1;
    TextScan scan;
    std::string clean;  // the cleaned copy read instead (with rejects), else empty
  };

  // Scans a text file once per engine, and again only when it changed (size or mtime).
  Result<const Scanned*> Scan(const std::string& path, FileFormat f, const ReadSpec& in) {
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0) return PosixError(path, errno);
    int64_t mtime = static_cast<int64_t>(sb.st_mtim.tv_sec) * 1000000000 + sb.st_mtim.tv_nsec;
    std::string key = path + (in.rejects ? "|rejects" : "") + "|" + in.csv_delimiter;
    auto it = scanned_.find(key);
    if (it != scanned_.end() && it->second.size == sb.st_size && it->second.mtime_ns == mtime) {
      return &it->second;
    }
    Scanned sc;
    sc.size = sb.st_size;
    sc.mtime_ns = mtime;
    char delim = in.csv_delimiter.empty() ? 0 : in.csv_delimiter[0];
    if (!in.csv_delimiter.empty() && in.csv_delimiter.size() != 1) {
      return Status::InvalidArgument("CSV delimiter must be one character, got '" +
                                     in.csv_delimiter + "'");
    }
    RejectFn on_reject;
    if (in.rejects) {
      sc.clean = CleanPath(f);
      RejectSink* sink = in.rejects;
      on_reject = [sink, &path](const BadRecord& r) {
        sink->Reject(path, r.line, r.reason, r.text);
      };
    }
    auto scan = ScanTextFile(path, f, delim, on_reject, sc.clean);
    if (!scan.ok()) {
      if (!sc.clean.empty()) ::unlink(sc.clean.c_str());
      return scan.status();
    }
    sc.scan = *scan;
    if (sc.scan.rejected == 0 && !sc.clean.empty()) {
      ::unlink(sc.clean.c_str());  // nothing was taken out: read the file itself
      sc.clean.clear();
    }
    auto& slot = scanned_[key];
    if (!slot.clean.empty()) ::unlink(slot.clean.c_str());
    slot = std::move(sc);
    return &slot;
  }

  std::string CleanPath(FileFormat f) {
    std::string dir = temp_dir_.empty() ? "/tmp" : temp_dir_;
    ::mkdir(dir.c_str(), 0700);
    return fmt::format("{}/lakepack-clean-{}-{}.{}", dir, ::getpid(), clean_counter_++,
                       f == FileFormat::kCsv ? "csv" : "jsonl");
  }

  std::map<std::string, Scanned> scanned_;
  std::string temp_dir_;
  int64_t clean_counter_ = 0;
  duckdb_database db_ = nullptr;
  duckdb_connection con_ = nullptr;
};

namespace {

std::string Describe(const ReadSpec& in) {
  if (in.paths.size() == 1) return in.paths[0];
  if (in.paths.empty()) return "(no input)";
  return fmt::format("{} (and {} more)", in.paths[0], in.paths.size() - 1);
}

// Avro is the Avro layer's (format/avro_codec.h); the engine would otherwise fall back to
// Parquet for it in WriteOptions.
Status CheckOutput(const WriteSpec& out) {
  if (out.format == FileFormat::kAvro || out.format == FileFormat::kUnknown) {
    return Status::InvalidArgument(out.path +
                                   ": the engine writes Parquet, CSV or JSON lines, not " +
                                   std::string(FormatName(out.format)));
  }
  return Status::OK();
}

Status CheckInputsExist(const ReadSpec& in) {
  if (in.paths.empty()) return Status::InvalidArgument("no input files");
  for (const auto& p : in.paths) {
    struct stat sb;
    if (::stat(p.c_str(), &sb) != 0) return PosixError(p, errno);
    if (S_ISDIR(sb.st_mode)) return Status::InvalidArgument(p + ": is a directory, not a file");
    FileFormat f = in.format != FileFormat::kUnknown ? in.format : FormatFromPath(p);
    if (f == FileFormat::kUnknown) {
      return Status::InvalidArgument(
          p + ": unknown input format (name it .csv, .jsonl or .parquet, or give --input-format)");
    }
    if (f == FileFormat::kAvro) {
      return Status::InvalidArgument(p + ": Avro is not read here (csv, jsonl or parquet)");
    }
    // DuckDB's CSV sniffer gives a confusing message for a 0-byte file; say what it is.
    if (sb.st_size == 0 && f != FileFormat::kCsv) {
      return Status::Corruption(p + ": empty file (0 bytes)");
    }
    // DuckDB checks only the magic bytes at the end of a Parquet file; a file must start with
    // them too, or it is not the file it claims to be.
    if (f == FileFormat::kParquet && sb.st_size >= 4) {
      char head[4] = {};
      std::FILE* fp = std::fopen(p.c_str(), "rb");
      size_t n = fp ? std::fread(head, 1, 4, fp) : 0;
      if (fp) std::fclose(fp);
      if (fp && (n != 4 || std::memcmp(head, "PAR1", 4) != 0)) {
        return Status::Corruption(
            p + ": not a Parquet file or truncated (no magic bytes at the start)");
      }
    }
  }
  return Status::OK();
}

}  // namespace

FormatEngine::FormatEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FormatEngine::~FormatEngine() = default;

Result<std::unique_ptr<FormatEngine>> FormatEngine::Open(const EngineOptions& options) {
  if (const std::string& error = LoadDuckDb().error; !error.empty()) {
    return Status::IOError("format engine: " + error);
  }
  auto impl = std::make_unique<Impl>();
  LP_RETURN_IF_ERROR(impl->Init(options));
  return std::unique_ptr<FormatEngine>(new FormatEngine(std::move(impl)));
}

std::string FormatEngine::LibraryVersion() {
  if (const std::string& error = LoadDuckDb().error; !error.empty()) return "unavailable: " + error;
  return duckdb_library_version();
}

namespace {

// The rows a COPY statement reports.
Result<int64_t> CopiedRows(const Result<Table>& res) {
  if (res->rows.empty() || !res->rows[0][0]) return Status::IOError("COPY returned no row count");
  return static_cast<int64_t>(std::stoll(*res->rows[0][0]));
}

// The rows a COPY of a prepared read wrote, checked against lakepack's count; on a mismatch the
// output is removed.
Result<int64_t> CheckedRows(const Result<Table>& res, const FormatEngine::Impl::Prepared& p,
                            const std::string& what, const std::string& out_path) {
  LP_ASSIGN_OR_RETURN(int64_t n, CopiedRows(res));
  Status rows = FormatEngine::Impl::CheckRows(p, n, what);
  if (!rows.ok()) ::unlink(out_path.c_str());
  LP_RETURN_IF_ERROR(rows);
  return n;
}

// A read whose every input is a 0-byte CSV has nothing to write, not even columns.
Status NoColumns(const std::string& path) {
  return Status::Corruption(path + ": empty file (0 bytes): no header, so no columns to write");
}

}  // namespace

Result<std::vector<ColumnInfo>> FormatEngine::Impl::SchemaOf(const Prepared& p,
                                                             std::string_view what) {
  std::vector<ColumnInfo> cols;
  if (p.files.empty()) return cols;
  auto t = Query("DESCRIBE " + sql::ReadExpression(p.files), what);
  if (!t.ok()) return Original(t.status(), p);
  for (auto& r : t->rows) cols.push_back({r[0].value_or(""), r[1].value_or("")});
  return cols;
}

Result<int64_t> FormatEngine::Copy(const ReadSpec& in, const WriteSpec& out) {
  LP_RETURN_IF_ERROR(CheckOutput(out));
  LP_RETURN_IF_ERROR(CheckInputsExist(in));
  LP_ASSIGN_OR_RETURN(Impl::Prepared p, impl_->Prepare(in));
  if (p.files.empty()) return NoColumns(p.first_empty);
  std::string source = sql::ReadExpression(p.files);
  std::string sql =
      fmt::format("COPY ({}) TO {} ({})", source, sql::Quote(out.path), sql::WriteOptions(out));
  auto res = impl_->Query(sql, Describe(in));
  if (!res.ok()) {
    ::unlink(out.path.c_str());
    // A failure to create the output is about the output, not the inputs.
    const std::string& m = res.status().message();
    if (res.status().code() == StatusCode::kIOError &&
        (Contains(m, out.path) || Contains(m, "Cannot open file") ||
         Contains(m, "Could not write"))) {
      return Status::IOError(fmt::format("{}: cannot write output ({})", out.path,
                                         FirstLine(m.substr(m.find(": ") + 2))));
    }
    return Impl::Original(res.status(), p);
  }
  return CheckedRows(res, p, Describe(in), out.path);
}

Result<int64_t> FormatEngine::CopyAs(const ReadSpec& in, const std::vector<ColumnInfo>& columns,
                                     const WriteSpec& out) {
  LP_ASSIGN_OR_RETURN(std::vector<int64_t> rows, CopyAsInOrder({in}, columns, out));
  return rows[0];
}

Result<int64_t> FormatEngine::Impl::FooterRows(const Prepared& p, std::string_view what) {
  if (p.all_text) return p.text_rows;
  int64_t n = p.text_rows;
  for (const auto& f : p.files) {
    if (f.format != FileFormat::kParquet) continue;
    LP_ASSIGN_OR_RETURN(Table t, Query(fmt::format("SELECT num_rows FROM parquet_file_metadata({})",
                                                   sql::Quote(f.path)),
                                       what));
    if (t.rows.empty()) return Status::Corruption(f.path + ": no Parquet footer");
    n += std::stoll(t.rows[0][0].value_or("0"));
  }
  return n;
}

namespace {

// Arrow's and pandas' type names (the seed's `metadata`), as DuckDB spells them; "" when the
// name is not one of theirs.
std::string ArrowTypeAsDuckDb(std::string name) {
  std::string t;
  for (char c : name) {
    if (c != ' ') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  static const std::map<std::string, std::string> kPlain = {
      {"int8", "TINYINT"},     {"int16", "SMALLINT"},       {"int32", "INTEGER"},
      {"int64", "BIGINT"},     {"uint8", "UTINYINT"},       {"uint16", "USMALLINT"},
      {"uint32", "UINTEGER"},  {"uint64", "UBIGINT"},       {"float16", "FLOAT"},
      {"halffloat", "FLOAT"},  {"float32", "FLOAT"},        {"float64", "DOUBLE"},
      {"string", "VARCHAR"},   {"str", "VARCHAR"},          {"object", "VARCHAR"},
      {"utf8", "VARCHAR"},     {"large_string", "VARCHAR"}, {"large_utf8", "VARCHAR"},
      {"bool", "BOOLEAN"},     {"boolean", "BOOLEAN"},      {"date32", "DATE"},
      {"date32[day]", "DATE"}, {"date64", "DATE"},          {"date64[ms]", "DATE"},
      {"binary", "BLOB"},      {"large_binary", "BLOB"},    {"bytes", "BLOB"},
      {"null", "VARCHAR"},     {"time32[s]", "TIME"},       {"time32[ms]", "TIME"},
      {"time64[us]", "TIME"},  {"time64[ns]", "TIME"},      {"datetime64", "TIMESTAMP_NS"}};
  if (auto it = kPlain.find(t); it != kPlain.end()) return it->second;
  // timestamp[unit] / timestamp(unit) / datetime64[unit], with ", tz=..." for zoned ones.
  static const std::regex kTimestamp(
      R"(^(timestamp|datetime64)[\[(](s|ms|us|ns)(,tz=[^\])]+)?[\])]$)");
  std::smatch m;
  if (std::regex_match(t, m, kTimestamp)) {
    if (m[3].matched) return "TIMESTAMPTZ";
    static const std::map<std::string, std::string> kUnit = {
        {"s", "TIMESTAMP_S"}, {"ms", "TIMESTAMP_MS"}, {"us", "TIMESTAMP"}, {"ns", "TIMESTAMP_NS"}};
    return kUnit.at(m[2]);
  }
  static const std::regex kDecimal(R"(^decimal(128|256)?\((\d+),(\d+)\)$)");
  if (std::regex_match(t, m, kDecimal)) return "DECIMAL(" + m[2].str() + "," + m[3].str() + ")";
  return "";
}

}  // namespace

Result<std::string> FormatEngine::SchemaType(const std::string& name) {
  std::string type = ArrowTypeAsDuckDb(name);
  if (type.empty()) type = name;
  // Type names go into SQL text: only what they are made of.
  for (char ch : type) {
    if (!(std::isalnum(static_cast<unsigned char>(ch)) ||
          std::string_view("(), _[]").find(ch) != std::string_view::npos)) {
      return Status::InvalidArgument("unknown type '" + name + "'");
    }
  }
  // DuckDB's own spelling ("bigint" → BIGINT, "int8" → BIGINT), so that types compare.
  auto probe = impl_->Query("SELECT typeof(CAST(NULL AS " + type + "))", "");
  if (!probe.ok() || probe->rows.size() != 1 || probe->rows[0].empty() || !probe->rows[0][0]) {
    return Status::InvalidArgument("unknown type '" + name + "'");
  }
  return *probe->rows[0][0];
}

Result<int64_t> FormatEngine::CountRows(const ReadSpec& in) {
  LP_RETURN_IF_ERROR(CheckInputsExist(in));
  LP_ASSIGN_OR_RETURN(Impl::Prepared p, impl_->Prepare(in));
  return impl_->FooterRows(p, Describe(in));
}

Result<std::vector<int64_t>> FormatEngine::CopyAsInOrder(const std::vector<ReadSpec>& inputs,
                                                         const std::vector<ColumnInfo>& columns,
                                                         const WriteSpec& out) {
  LP_RETURN_IF_ERROR(CheckOutput(out));
  if (columns.empty()) return Status::InvalidArgument("CopyAs: no columns");
  if (inputs.empty()) return Status::InvalidArgument("CopyAs: no inputs");
  struct Input {
    Impl::Prepared p;
    std::vector<ColumnInfo> have;
    std::string source;
    int64_t rows = 0;
  };
  std::vector<Input> ins(inputs.size());
  int64_t expected = 0;
  for (size_t i = 0; i < inputs.size(); i++) {
    LP_RETURN_IF_ERROR(CheckInputsExist(inputs[i]));
    Input& in = ins[i];
    LP_ASSIGN_OR_RETURN(in.p, impl_->Prepare(inputs[i]));
    LP_ASSIGN_OR_RETURN(in.have, impl_->SchemaOf(in.p, Describe(inputs[i])));
    LP_ASSIGN_OR_RETURN(in.rows, impl_->FooterRows(in.p, Describe(inputs[i])));
    expected += in.rows;
    // Only 0-byte CSVs: no rows, but the file still gets the columns asked for.
    in.source = in.p.files.empty() ? "(SELECT 1 WHERE false)" : sql::ReadExpression(in.p.files);
  }
  auto select_of = [&](const std::vector<ColumnInfo>& have) {
    std::string select;
    for (const auto& c : columns) {
      bool present = std::any_of(have.begin(), have.end(),
                                 [&](const ColumnInfo& h) { return h.name == c.name; });
      if (!select.empty()) select += ", ";
      select += fmt::format("CAST({} AS {}) AS {}",
                            present ? sql::QuoteIdentifier(c.name) : std::string("NULL"), c.type,
                            sql::QuoteIdentifier(c.name));
    }
    return select;
  };
  // Consecutive inputs of one kind (format, CSV delimiter, JSON columns) are one multi-file
  // read, which keeps its files' order; runs of another kind follow as UNION ALL branches,
  // which a copy that keeps insertion order also keeps in order. One read for many files is
  // also what keeps memory flat: DuckDB 1.4's order-keeping copy holds every branch after the
  // first until the end of the statement.
  auto kind = [](const Input& in) {
    std::string k;
    for (const auto& f : in.p.files) {
      std::string one =
          fmt::format("{}|{}|{}", static_cast<int>(f.format),
                      f.format == FileFormat::kCsv ? f.delimiter : '\0', f.json_columns.size());
      for (const auto& c : f.json_columns) one += "|" + c.name + " " + c.type;
      if (!k.empty() && k != one) return std::string("mixed");
      k = one;
    }
    return k;
  };
  std::string query;
  for (size_t i = 0; i < ins.size();) {
    size_t j = i + 1;
    const std::string k = kind(ins[i]);
    while (j < ins.size() && !k.empty() && k != "mixed" && kind(ins[j]) == k) j++;
    std::string branch;
    if (j == i + 1) {
      branch = fmt::format("SELECT {} FROM {} _lp_in", select_of(ins[i].have), ins[i].source);
    } else {
      Impl::Prepared run;
      for (size_t r = i; r < j; r++) {
        run.files.insert(run.files.end(), ins[r].p.files.begin(), ins[r].p.files.end());
      }
      LP_ASSIGN_OR_RETURN(std::vector<ColumnInfo> have, impl_->SchemaOf(run, Describe(inputs[i])));
      branch =
          fmt::format("SELECT {} FROM {} _lp_in", select_of(have), sql::ReadExpression(run.files));
    }
    query += (query.empty() ? "" : " UNION ALL ") + branch;
    i = j;
  }
  const std::string what = inputs.size() == 1 ? Describe(inputs[0])
                                              : fmt::format("{} (and {} more inputs)",
                                                            Describe(inputs[0]), inputs.size() - 1);
  std::string q =
      fmt::format("COPY ({}) TO {} ({})", query, sql::Quote(out.path), sql::WriteOptions(out));
  auto res = impl_->Query(q, what);
  if (!res.ok()) {
    ::unlink(out.path.c_str());
    // Name the input and column whose values do not cast, with one of them.
    for (size_t i = 0; i < ins.size(); i++) {
      for (const auto& c : columns) {
        bool present = std::any_of(ins[i].have.begin(), ins[i].have.end(),
                                   [&](const ColumnInfo& h) { return h.name == c.name; });
        if (!present) continue;
        std::string col = sql::QuoteIdentifier(c.name);
        auto bad = impl_->Query(
            fmt::format("SELECT {0}::VARCHAR FROM {1} _lp_in WHERE {0} IS NOT NULL AND "
                        "TRY_CAST({0} AS {2}) IS NULL LIMIT 1",
                        col, ins[i].source, c.type),
            Describe(inputs[i]));
        if (bad.ok() && !bad->rows.empty()) {
          return Status::Corruption(fmt::format("{}: column '{}': value '{}' does not cast to {}",
                                                Describe(inputs[i]), c.name,
                                                bad->rows[0][0].value_or(""), c.type));
        }
      }
    }
    Status st = res.status();
    for (const auto& in : ins) st = Impl::Original(st, in.p);
    return st;
  }
  LP_ASSIGN_OR_RETURN(int64_t n, CopiedRows(res));
  if (n != expected) {
    ::unlink(out.path.c_str());
    return Status::Corruption(fmt::format(
        "{}: the engine read {} rows, but the files hold {} records: nothing was written", what, n,
        expected));
  }
  std::vector<int64_t> rows;
  for (const auto& in : ins) rows.push_back(in.rows);
  return rows;
}

Result<int64_t> FormatEngine::CopyRowRange(const std::string& parquet, int64_t first, int64_t count,
                                           const WriteSpec& out) {
  return CopyRowRanges(parquet, {{first, count}}, out);
}

Result<int64_t> FormatEngine::CopyRowRanges(const std::string& parquet,
                                            const std::vector<std::pair<int64_t, int64_t>>& ranges,
                                            const WriteSpec& out) {
  LP_RETURN_IF_ERROR(CheckOutput(out));
  LP_RETURN_IF_ERROR(CheckInputsExist(ReadSpec{{parquet}, FileFormat::kParquet}));
  std::string where;
  for (const auto& [first, count] : ranges) {
    if (!where.empty()) where += " OR ";
    where += fmt::format("(file_row_number >= {} AND file_row_number < {})", first, first + count);
  }
  if (where.empty()) where = "false";
  std::string q = fmt::format(
      "COPY (SELECT * EXCLUDE (file_row_number) FROM read_parquet({}, file_row_number = true, "
      "hive_partitioning = false) WHERE {}) TO {} ({})",
      sql::Quote(parquet), where, sql::Quote(out.path), sql::WriteOptions(out));
  auto res = impl_->Query(q, parquet);
  if (!res.ok()) {
    ::unlink(out.path.c_str());
    return res.status();
  }
  return CopiedRows(res);
}

Result<std::vector<ColumnInfo>> FormatEngine::Schema(const ReadSpec& in) {
  LP_RETURN_IF_ERROR(CheckInputsExist(in));
  LP_ASSIGN_OR_RETURN(Impl::Prepared p, impl_->Prepare(in));
  return impl_->SchemaOf(p, Describe(in));
}

Result<std::optional<std::string>> FormatEngine::FirstMisfit(const ReadSpec& in,
                                                             const std::string& column,
                                                             const std::string& type) {
  LP_RETURN_IF_ERROR(CheckInputsExist(in));
  LP_ASSIGN_OR_RETURN(Impl::Prepared p, impl_->Prepare(in));
  if (p.files.empty()) return std::optional<std::string>();
  std::string col = sql::QuoteIdentifier(column);
  auto t = impl_->Query(
      fmt::format("SELECT {0}::VARCHAR FROM {1} _lp_in WHERE {0} IS NOT NULL AND "
                  "(TRY_CAST({0} AS {2}) IS NULL OR TRY_CAST({0} AS {2})::VARCHAR <> {0}::VARCHAR) "
                  "LIMIT 1",
                  col, sql::ReadExpression(p.files), type),
      Describe(in));
  if (!t.ok()) return Impl::Original(t.status(), p);
  if (t->rows.empty()) return std::optional<std::string>();
  return std::optional<std::string>(t->rows[0][0].value_or(""));
}

Result<FileInfo> FormatEngine::Inspect(const std::string& path, FileFormat format) {
  ReadSpec in{{path}, format};
  LP_RETURN_IF_ERROR(CheckInputsExist(in));
  FileInfo info;
  info.format = format != FileFormat::kUnknown ? format : FormatFromPath(path);
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return PosixError(path, errno);
  info.size_bytes = sb.st_size;
  LP_ASSIGN_OR_RETURN(Impl::Prepared p, impl_->Prepare(in));
  LP_ASSIGN_OR_RETURN(info.columns, impl_->SchemaOf(p, path));
  if (info.format == FileFormat::kParquet) {
    // Footer only: parquet_file_metadata and parquet_metadata read no data pages.
    LP_ASSIGN_OR_RETURN(Table meta,
                        impl_->Query(fmt::format("SELECT num_rows, num_row_groups, created_by FROM "
                                                 "parquet_file_metadata({})",
                                                 sql::Quote(path)),
                                     path));
    if (meta.rows.empty()) return Status::Corruption(path + ": no Parquet footer");
    info.rows = std::stoll(meta.rows[0][0].value_or("0"));
    info.row_groups = std::stoll(meta.rows[0][1].value_or("0"));
    info.created_by = meta.rows[0][2].value_or("");
    LP_ASSIGN_OR_RETURN(
        Table codecs,
        impl_->Query(fmt::format("SELECT DISTINCT compression FROM parquet_metadata({}) ORDER BY 1",
                                 sql::Quote(path)),
                     path));
    for (auto& r : codecs.rows) info.compressions.push_back(r[0].value_or(""));
  } else if (!p.files.empty()) {
    auto t = impl_->Query("SELECT count(*) FROM " + sql::ReadExpression(p.files), path);
    if (!t.ok()) return Impl::Original(t.status(), p);
    info.rows = std::stoll(t->rows[0][0].value_or("0"));
    LP_RETURN_IF_ERROR(Impl::CheckRows(p, info.rows, path));
  }
  return info;
}

Result<std::vector<FileInfo>> FormatEngine::InspectParquetFiles(
    const std::vector<std::string>& paths) {
  std::vector<FileInfo> infos(paths.size());
  if (paths.empty()) return infos;
  LP_RETURN_IF_ERROR(CheckInputsExist(ReadSpec{paths, FileFormat::kParquet}));
  std::string list = "[";
  std::map<std::string, size_t> index;  // path → position
  for (size_t i = 0; i < paths.size(); i++) {
    list += (i ? ", " : "") + sql::Quote(paths[i]);
    index.emplace(paths[i], i);
    infos[i].format = FileFormat::kParquet;
    struct stat sb;
    if (::stat(paths[i].c_str(), &sb) != 0) return PosixError(paths[i], errno);
    infos[i].size_bytes = sb.st_size;
  }
  list += "]";
  // The same question file by file names the file whose footer is bad, as Inspect does.
  auto one_by_one = [&]() -> Result<std::vector<FileInfo>> {
    for (size_t i = 0; i < paths.size(); i++) {
      LP_ASSIGN_OR_RETURN(infos[i], Inspect(paths[i], FileFormat::kParquet));
    }
    return infos;
  };
  auto meta = impl_->Query(
      "SELECT file_name, num_rows, num_row_groups FROM parquet_file_metadata(" + list + ")",
      paths.front());
  // Every column of every footer, in schema order (a plain scan keeps its order: the engine
  // preserves insertion order); what DuckDB makes of a schema depends on these fields only.
  auto schema = impl_->Query(
      "SELECT file_name, name, type, type_length, repetition_type, num_children, "
      "converted_type, scale, precision, field_id, logical_type FROM parquet_schema(" +
          list + ")",
      paths.front());
  if (!meta.ok() || !schema.ok() || meta->rows.size() != paths.size()) return one_by_one();
  for (const auto& r : meta->rows) {
    auto it = index.find(r[0].value_or(""));
    if (it == index.end()) return one_by_one();
    infos[it->second].rows = std::stoll(r[1].value_or("0"));
    infos[it->second].row_groups = std::stoll(r[2].value_or("0"));
  }
  std::vector<std::string> fingerprint(paths.size());
  for (const auto& r : schema->rows) {
    auto it = index.find(r[0].value_or(""));
    if (it == index.end()) return one_by_one();
    std::string& f = fingerprint[it->second];
    for (size_t c = 1; c < r.size(); c++) {
      f += r[c] ? *r[c] : std::string("\x01");
      f += '\x02';
    }
    f += '\x03';
  }
  std::map<std::string, std::vector<ColumnInfo>> columns_of;  // fingerprint → columns
  for (size_t i = 0; i < paths.size(); i++) {
    auto it = columns_of.find(fingerprint[i]);
    if (it == columns_of.end()) {
      LP_ASSIGN_OR_RETURN(Impl::Prepared p,
                          impl_->Prepare(ReadSpec{{paths[i]}, FileFormat::kParquet}));
      LP_ASSIGN_OR_RETURN(auto cols, impl_->SchemaOf(p, paths[i]));
      it = columns_of.emplace(fingerprint[i], std::move(cols)).first;
    }
    infos[i].columns = it->second;
  }
  return infos;
}

Result<int64_t> FormatEngine::WriteSample(const SampleSpec& sample, const WriteSpec& out) {
  LP_RETURN_IF_ERROR(CheckOutput(out));
  std::string sql =
      fmt::format("COPY ({}) TO {} ({})",
                  sql::SampleQuery(sample.rows, sample.seed, sample.start_us, sample.step_us),
                  sql::Quote(out.path), sql::WriteOptions(out));
  auto res = impl_->Query(sql, out.path);
  if (!res.ok()) {
    ::unlink(out.path.c_str());
    return res.status();
  }
  return static_cast<int64_t>(std::stoll(res->rows[0][0].value_or("0")));
}

Result<RowDigest> FormatEngine::Digest(const ReadSpec& in) {
  LP_RETURN_IF_ERROR(CheckInputsExist(in));
  LP_ASSIGN_OR_RETURN(Impl::Prepared p, impl_->Prepare(in));
  RowDigest d;
  if (p.files.empty()) {
    d.checksum = "0";
    return d;
  }
  // hash() over the columns in name order, so that files whose columns come in another order
  // digest alike; summing the 64-bit row hashes in 128 bits gives a digest that does not depend
  // on row order but does on multiplicity.
  LP_ASSIGN_OR_RETURN(std::vector<ColumnInfo> cols, impl_->SchemaOf(p, Describe(in)));
  std::sort(cols.begin(), cols.end(),
            [](const ColumnInfo& a, const ColumnInfo& b) { return a.name < b.name; });
  std::string args;
  for (const auto& c : cols) {
    if (!args.empty()) args += ", ";
    args += sql::QuoteIdentifier(c.name);
  }
  if (args.empty()) args = "NULL";
  auto t = impl_->Query(fmt::format("SELECT count(*), coalesce(sum(hash({})::HUGEINT), 0) "
                                    "FROM {} _lp_rows",
                                    args, sql::ReadExpression(p.files)),
                        Describe(in));
  if (!t.ok()) return Impl::Original(t.status(), p);
  d.rows = std::stoll(t->rows[0][0].value_or("0"));
  d.checksum = t->rows[0][1].value_or("0");
  LP_RETURN_IF_ERROR(Impl::CheckRows(p, d.rows, Describe(in)));
  return d;
}

namespace {

// The DuckDB type a buffer column holds (the caller destroys it).
duckdb_logical_type LogicalTypeOf(ColumnKind kind, const ColumnType& t) {
  switch (kind) {
    case ColumnKind::kBoolean:
      return duckdb_create_logical_type(DUCKDB_TYPE_BOOLEAN);
    case ColumnKind::kSmallInt:
      return duckdb_create_logical_type(DUCKDB_TYPE_SMALLINT);
    case ColumnKind::kInteger:
      return duckdb_create_logical_type(DUCKDB_TYPE_INTEGER);
    case ColumnKind::kBigInt:
      return duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    case ColumnKind::kFloat:
      return duckdb_create_logical_type(DUCKDB_TYPE_FLOAT);
    case ColumnKind::kDouble:
      return duckdb_create_logical_type(DUCKDB_TYPE_DOUBLE);
    case ColumnKind::kDecimal:
      return duckdb_create_decimal_type(static_cast<uint8_t>(t.width),
                                        static_cast<uint8_t>(t.scale));
    case ColumnKind::kVarchar:
      return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
    case ColumnKind::kJson: {
      // DuckDB's JSON type is VARCHAR under the alias JSON; Parquet then marks the column JSON.
      duckdb_logical_type j = duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
      duckdb_logical_type_set_alias(j, "JSON");
      return j;
    }
    case ColumnKind::kBlob:
      return duckdb_create_logical_type(DUCKDB_TYPE_BLOB);
    case ColumnKind::kUuid:
      return duckdb_create_logical_type(DUCKDB_TYPE_UUID);
    case ColumnKind::kDate:
      return duckdb_create_logical_type(DUCKDB_TYPE_DATE);
    case ColumnKind::kTimestamp:
      return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP);
    case ColumnKind::kTimestampTz:
      return duckdb_create_logical_type(DUCKDB_TYPE_TIMESTAMP_TZ);
    case ColumnKind::kList: {
      ColumnKind e = t.element;
      if (e != ColumnKind::kBlob && e != ColumnKind::kBigInt && e != ColumnKind::kDouble &&
          e != ColumnKind::kBoolean) {
        e = ColumnKind::kVarchar;
      }
      duckdb_logical_type child = LogicalTypeOf(e, t);
      duckdb_logical_type list = duckdb_create_list_type(child);
      duckdb_destroy_logical_type(&child);
      return list;
    }
  }
  return duckdb_create_logical_type(DUCKDB_TYPE_VARCHAR);
}

class DuckRowBuffer;

// Buffers by id, for the table function _lp_row_buffer(id) that reads them (any engine's).
std::mutex buffers_mu;
std::map<int64_t, DuckRowBuffer*> buffers_by_id;
std::atomic<int64_t> buffer_counter{0};

DuckRowBuffer* FindBuffer(int64_t id) {
  std::lock_guard<std::mutex> lock(buffers_mu);
  auto it = buffers_by_id.find(id);
  return it == buffers_by_id.end() ? nullptr : it->second;
}

// Rows are written straight into DuckDB data chunks of duckdb_vector_size() rows, in DuckDB's
// own layout: no Value per field, no casts, no table storage with its statistics. The table
// function _lp_row_buffer(id) hands the chunks by reference to the two queries that read them
// (the digest and the COPY to Parquet); Flush then drops them, so a buffer holds the rows fed
// since the last Flush only.
class DuckRowBuffer final : public RowBuffer {
 public:
  DuckRowBuffer(FormatEngine::Impl* impl, std::vector<BufferColumn> cols)
      : impl_(impl), cols_(std::move(cols)), id_(buffer_counter++) {
    for (const auto& c : cols_) types_.push_back(LogicalTypeOf(c.type.kind, c.type));
    vec_.resize(cols_.size());
    data_.resize(cols_.size());
    validity_.resize(cols_.size());
    std::lock_guard<std::mutex> lock(buffers_mu);
    buffers_by_id[id_] = this;
  }
  ~DuckRowBuffer() override {
    {
      std::lock_guard<std::mutex> lock(buffers_mu);
      buffers_by_id.erase(id_);
    }
    DropChunks();
    for (auto& t : types_) duckdb_destroy_logical_type(&t);
  }

  //! Registers _lp_row_buffer in the engine's database, once.
  static Status RegisterFunction(FormatEngine::Impl* impl) {
    if (impl->row_buffer_function) return Status::OK();
    duckdb_table_function f = duckdb_create_table_function();
    duckdb_table_function_set_name(f, "_lp_row_buffer");
    duckdb_logical_type bigint = duckdb_create_logical_type(DUCKDB_TYPE_BIGINT);
    duckdb_table_function_add_parameter(f, bigint);
    duckdb_destroy_logical_type(&bigint);
    duckdb_table_function_set_bind(f, Bind);
    duckdb_table_function_set_init(f, Init);
    duckdb_table_function_set_function(f, Scan);
    duckdb_state st = duckdb_register_table_function(impl->connection(), f);
    duckdb_destroy_table_function(&f);
    if (st == DuckDBError) return Status::IOError("row buffer: cannot register its table function");
    impl->row_buffer_function = true;
    return Status::OK();
  }

  void Null() override {
    if (!Fits(true)) return;
    duckdb_validity_set_row_invalid(validity_[col_], row_);
    if (cols_[col_].type.kind == ColumnKind::kList) {
      Data<duckdb_list_entry>()[row_] = {duckdb_list_vector_get_size(vec_[col_]), 0};
    }
    col_++;
  }
  void Bool(bool v) override {
    if (Fits(Kind() == ColumnKind::kBoolean)) Set<bool>(v);
  }
  void Int(int64_t v) override {
    switch (Kind()) {
      case ColumnKind::kSmallInt:
        return Set<int16_t>(static_cast<int16_t>(v));
      case ColumnKind::kInteger:
        return Set<int32_t>(static_cast<int32_t>(v));
      case ColumnKind::kBigInt:
        return Set<int64_t>(v);
      default:
        Fits(false);
    }
  }
  void Double(double v) override {
    if (Kind() == ColumnKind::kFloat) return Set<float>(static_cast<float>(v));
    if (Fits(Kind() == ColumnKind::kDouble)) Set<double>(v);
  }
  void Decimal(__int128 unscaled) override {
    if (!Fits(Kind() == ColumnKind::kDecimal)) return;
    // DuckDB keeps a DECIMAL in the smallest integer its width fits.
    int width = cols_[col_].type.width;
    if (width <= 4) return Set<int16_t>(static_cast<int16_t>(unscaled));
    if (width <= 9) return Set<int32_t>(static_cast<int32_t>(unscaled));
    if (width <= 18) return Set<int64_t>(static_cast<int64_t>(unscaled));
    duckdb_hugeint h;
    h.lower = static_cast<uint64_t>(unscaled);
    h.upper = static_cast<int64_t>(unscaled >> 64);
    Set<duckdb_hugeint>(h);
  }
  void String(std::string_view v) override {
    ColumnKind k = Kind();
    if (!Fits(k == ColumnKind::kVarchar || k == ColumnKind::kJson || k == ColumnKind::kBlob)) {
      return;
    }
    duckdb_vector_assign_string_element_len(vec_[col_], row_, v.data(), v.size());
    col_++;
  }
  void Uuid(const uint8_t b[16]) override {
    if (!Fits(Kind() == ColumnKind::kUuid)) return;
    // DuckDB's UUID is a 128-bit integer of the 16 bytes, big-endian, with the top bit flipped
    // so that signed order is the UUIDs' byte order (what its UUID text cast produces).
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 8; i++) hi = (hi << 8) | b[i];
    for (int i = 8; i < 16; i++) lo = (lo << 8) | b[i];
    duckdb_hugeint h;
    h.lower = lo;
    h.upper = static_cast<int64_t>(hi ^ (uint64_t{1} << 63));
    Set<duckdb_hugeint>(h);
  }
  void Date(int32_t days) override {
    if (Fits(Kind() == ColumnKind::kDate)) Set<int32_t>(days);
  }
  void Timestamp(int64_t us) override {
    ColumnKind k = Kind();
    if (Fits(k == ColumnKind::kTimestamp || k == ColumnKind::kTimestampTz)) Set<int64_t>(us);
  }
  void List(const std::vector<ListElement>& elements) override {
    if (!Fits(Kind() == ColumnKind::kList)) return;
    duckdb_vector list = vec_[col_];
    idx_t offset = duckdb_list_vector_get_size(list);
    if (duckdb_list_vector_reserve(list, offset + elements.size()) == DuckDBError) {
      Fail("cannot grow a list");
      return;
    }
    duckdb_vector child = duckdb_list_vector_get_child(list);
    void* data = duckdb_vector_get_data(child);
    ColumnKind ek = cols_[col_].type.element;
    for (size_t k = 0; k < elements.size(); k++) {
      idx_t at = offset + k;
      const ListElement& e = elements[k];
      if (!e) {
        duckdb_vector_ensure_validity_writable(child);
        duckdb_validity_set_row_invalid(duckdb_vector_get_validity(child), at);
        continue;
      }
      switch (ek) {
        case ColumnKind::kBigInt:
          static_cast<int64_t*>(data)[at] = std::stoll(*e);
          break;
        case ColumnKind::kDouble:
          static_cast<double*>(data)[at] = std::stod(*e);
          break;
        case ColumnKind::kBoolean:
          static_cast<bool*>(data)[at] = *e == "t";
          break;
        default:  // kBlob and kVarchar
          duckdb_vector_assign_string_element_len(child, at, e->data(), e->size());
      }
    }
    duckdb_list_vector_set_size(list, offset + elements.size());
    Data<duckdb_list_entry>()[row_] = {offset, elements.size()};
    col_++;
  }
  Status EndRow() override {
    if (err_.ok() && col_ != cols_.size()) {
      err_ = Status::InvalidArgument(
          fmt::format("row buffer: row has {} values, expected {}", col_, cols_.size()));
    }
    col_ = 0;
    if (!err_.ok()) return err_;
    rows_++;
    if (++row_ == capacity_) {
      duckdb_data_chunk_set_size(chunks_.back(), row_);
      NewChunk();
    }
    return Status::OK();
  }
  int64_t rows() const override { return rows_; }

  Result<RowDigest> Digest() override {
    std::vector<std::string> names;
    for (const auto& c : cols_) names.push_back(c.name);
    std::sort(names.begin(), names.end());
    std::string args;
    for (const auto& n : names) args += (args.empty() ? "" : ", ") + sql::QuoteIdentifier(n);
    SealChunk();
    LP_ASSIGN_OR_RETURN(
        Table t, impl_->Query(fmt::format("SELECT count(*), coalesce(sum(hash({})::HUGEINT), 0) "
                                          "FROM _lp_row_buffer({})",
                                          args, id_),
                              "row buffer"));
    RowDigest d;
    d.rows = std::stoll(t.rows[0][0].value_or("0"));
    d.checksum = t.rows[0][1].value_or("0");
    return d;
  }

  Result<int64_t> Flush(const WriteSpec& out,
                        const std::vector<std::pair<std::string, std::string>>& metadata) override {
    WriteSpec with_metadata = out;
    with_metadata.metadata.insert(with_metadata.metadata.end(), metadata.begin(), metadata.end());
    std::string opts = sql::WriteOptions(with_metadata);
    SealChunk();
    auto res = impl_->Query(
        fmt::format("COPY (FROM _lp_row_buffer({})) TO {} ({})", id_, sql::Quote(out.path), opts),
        out.path);
    if (!res.ok()) {
      ::unlink(out.path.c_str());
      return res.status();
    }
    int64_t n = std::stoll(res->rows[0][0].value_or("0"));
    DropChunks();
    rows_ = 0;
    NewChunk();
    return n;
  }

  Status Start() {
    LP_RETURN_IF_ERROR(RegisterFunction(impl_));
    NewChunk();
    return Status::OK();
  }

 private:
  static void Bind(duckdb_bind_info info) {
    duckdb_value v = duckdb_bind_get_parameter(info, 0);
    int64_t id = duckdb_get_int64(v);
    duckdb_destroy_value(&v);
    DuckRowBuffer* b = FindBuffer(id);
    if (b == nullptr) {
      duckdb_bind_set_error(info, "no such row buffer");
      return;
    }
    for (size_t i = 0; i < b->cols_.size(); i++) {
      duckdb_bind_add_result_column(info, b->cols_[i].name.c_str(), b->types_[i]);
    }
    duckdb_bind_set_cardinality(info, static_cast<idx_t>(b->rows_), true);
    duckdb_bind_set_bind_data(info, b, nullptr);
  }
  static void Init(duckdb_init_info info) {
    duckdb_init_set_init_data(info, new size_t(0), [](void* p) { delete static_cast<size_t*>(p); });
    duckdb_init_set_max_threads(info, 1);  // one scan, in the order the rows were fed
  }
  static void Scan(duckdb_function_info info, duckdb_data_chunk out) {
    auto* b = static_cast<DuckRowBuffer*>(duckdb_function_get_bind_data(info));
    auto* next = static_cast<size_t*>(duckdb_function_get_init_data(info));
    // Only the last chunk can be empty, and an empty output ends the scan.
    if (*next >= b->chunks_.size() || duckdb_data_chunk_get_size(b->chunks_[*next]) == 0) {
      duckdb_data_chunk_set_size(out, 0);
      return;
    }
    duckdb_data_chunk in = b->chunks_[(*next)++];
    for (size_t i = 0; i < b->cols_.size(); i++) {
      duckdb_vector_reference_vector(duckdb_data_chunk_get_vector(out, i),
                                     duckdb_data_chunk_get_vector(in, i));
    }
    duckdb_data_chunk_set_size(out, duckdb_data_chunk_get_size(in));
  }

  void NewChunk() {
    duckdb_data_chunk c = duckdb_create_data_chunk(types_.data(), types_.size());
    chunks_.push_back(c);
    row_ = 0;
    for (size_t i = 0; i < cols_.size(); i++) {
      vec_[i] = duckdb_data_chunk_get_vector(c, i);
      duckdb_vector_ensure_validity_writable(vec_[i]);
      data_[i] = duckdb_vector_get_data(vec_[i]);
      validity_[i] = duckdb_vector_get_validity(vec_[i]);
    }
  }
  // The chunk being filled says how many rows it holds, for a scan.
  void SealChunk() {
    if (!chunks_.empty()) duckdb_data_chunk_set_size(chunks_.back(), row_);
  }
  void DropChunks() {
    for (auto& c : chunks_) duckdb_destroy_data_chunk(&c);
    chunks_.clear();
  }

  ColumnKind Kind() const {
    return col_ < cols_.size() ? cols_[col_].type.kind : ColumnKind::kVarchar;
  }
  // Whether the value may go into the current column; if not, the row fails.
  bool Fits(bool kind_ok) {
    if (col_ >= cols_.size()) {
      if (err_.ok()) err_ = Status::InvalidArgument("row buffer: more values than columns");
      return false;
    }
    if (!kind_ok) {
      Fail("a value of another type");
      return false;
    }
    return true;
  }
  void Fail(const std::string& why) {
    if (err_.ok()) {
      err_ = Status::InvalidArgument(fmt::format(
          "row buffer: column {}: {}", col_ < cols_.size() ? cols_[col_].name : "?", why));
    }
    col_++;
  }
  template <typename T>
  T* Data() {
    return static_cast<T*>(data_[col_]);
  }
  template <typename T>
  void Set(T v) {
    Data<T>()[row_] = v;
    col_++;
  }

  FormatEngine::Impl* impl_;
  std::vector<BufferColumn> cols_;
  std::vector<duckdb_logical_type> types_;
  int64_t id_;
  std::vector<duckdb_data_chunk> chunks_;  // the last one is being filled
  // The current chunk's vectors, their data and validity masks, by column.
  std::vector<duckdb_vector> vec_;
  std::vector<void*> data_;
  std::vector<uint64_t*> validity_;
  const idx_t capacity_ = duckdb_vector_size();  // rows per chunk
  idx_t row_ = 0;                                // in the current chunk
  size_t col_ = 0;
  int64_t rows_ = 0;
  Status err_;
};

}  // namespace

Result<std::unique_ptr<RowBuffer>> FormatEngine::NewRowBuffer(
    const std::vector<BufferColumn>& columns) {
  auto b = std::make_unique<DuckRowBuffer>(impl_.get(), columns);
  LP_RETURN_IF_ERROR(b->Start());
  return std::unique_ptr<RowBuffer>(std::move(b));
}

Result<KeyRange> FormatEngine::ReadKeyRange(const std::string& path, const std::string& ts_column,
                                            const std::string& id_column) {
  LP_RETURN_IF_ERROR(CheckInputsExist(ReadSpec{{path}, FileFormat::kParquet}));
  LP_ASSIGN_OR_RETURN(std::vector<ColumnInfo> cols, Schema(ReadSpec{{path}, FileFormat::kParquet}));
  std::string ts_type, id_type;
  for (const auto& c : cols) {
    if (c.name == ts_column) ts_type = c.type;
    if (c.name == id_column) id_type = c.type;
  }
  if (ts_type.empty()) return Status::Corruption(path + ": no column " + ts_column);
  if (id_type.empty()) return Status::Corruption(path + ": no column " + id_column);
  std::string ts = sql::QuoteIdentifier(ts_column), id = sql::QuoteIdentifier(id_column);
  std::string ts_expr =
      ts_type == "DATE" ? "epoch_us(" + ts + "::TIMESTAMP)" : "epoch_us(" + ts + ")";
  KeyRange r;
  r.id_is_blob = id_type == "BLOB";
  std::string id_expr = r.id_is_blob ? "to_base64(" + id + ")" : id + "::VARCHAR";
  std::string src = "read_parquet(" + sql::Quote(path) + ", hive_partitioning = false)";
  LP_ASSIGN_OR_RETURN(Table n, impl_->Query("SELECT count(*) FROM " + src, path));
  r.rows = std::stoll(n.rows[0][0].value_or("0"));
  if (r.rows == 0) return r;
  for (int last = 0; last < 2; last++) {
    std::string dir = last ? " DESC" : "";
    LP_ASSIGN_OR_RETURN(
        Table t, impl_->Query(fmt::format("SELECT {}, {} FROM {} ORDER BY {}{}, {}{} LIMIT 1",
                                          ts_expr, id_expr, src, ts, dir, id, dir),
                              path));
    if (t.rows.empty()) return Status::Corruption(path + ": no rows");
    int64_t us = std::stoll(t.rows[0][0].value_or("0"));
    std::string idv = t.rows[0][1].value_or("");
    (last ? r.last_ts_us : r.first_ts_us) = us;
    (last ? r.last_id : r.first_id) = idv;
  }
  return r;
}

Result<std::vector<std::pair<std::string, std::string>>> FormatEngine::ParquetMetadata(
    const std::string& path) {
  LP_RETURN_IF_ERROR(CheckInputsExist(ReadSpec{{path}, FileFormat::kParquet}));
  LP_ASSIGN_OR_RETURN(Table t, impl_->Query(fmt::format("SELECT decode(key), decode(value) FROM "
                                                        "parquet_kv_metadata({})",
                                                        sql::Quote(path)),
                                            path));
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& r : t.rows) out.emplace_back(r[0].value_or(""), r[1].value_or(""));
  return out;
}

}  // namespace lakepack
