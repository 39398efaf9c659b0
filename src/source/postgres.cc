// PostgreSQL through libpq. This is the only file that includes libpq-fe.h: every libpq error
// becomes a Status in PgStatus() below, and every binary wire format is decoded here.
#include "source/postgres.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cctype>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <mutex>
#include <regex>
#include <thread>

namespace lakepack::pg {

namespace {

// Type OIDs from pg_type.dat; stable across PostgreSQL versions.
constexpr uint32_t kBoolOid = 16, kByteaOid = 17, kNameOid = 19, kInt8Oid = 20, kInt2Oid = 21,
                   kInt4Oid = 23, kTextOid = 25, kJsonOid = 114, kFloat4Oid = 700, kFloat8Oid = 701,
                   kBpcharOid = 1042, kVarcharOid = 1043, kDateOid = 1082, kTimestampOid = 1114,
                   kTimestampTzOid = 1184, kNumericOid = 1700, kUuidOid = 2950, kJsonbOid = 3802;
// PostgreSQL counts timestamps from 2000-01-01; Parquet and DuckDB from 1970-01-01.
constexpr int64_t kPgEpochMicros = 946684800000000LL;
constexpr int32_t kPgEpochDays = 10957;

std::string FirstLine(std::string s) {
  auto nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// The one translation of libpq's errors. SQLSTATE classes: 08 connection, 28 authorization,
// 42P01 undefined table, 40 transaction rollback, 57 operator intervention, 53 resources.
Status PgStatus(PGconn* conn, const PGresult* res, std::string_view context) {
  std::string msg = res ? PQresultErrorMessage(res) : "";
  if (msg.empty() && conn) msg = PQerrorMessage(conn);
  msg = FirstLine(msg);
  if (msg.rfind("ERROR:  ", 0) == 0) msg = msg.substr(8);
  std::string full = fmt::format("{}: {}", context, msg.empty() ? "unknown libpq error" : msg);
  const char* st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string state = st ? st : "";
  if (state == "42P01" || state == "3F000") return Status::NotFound(full);
  if (state.rfind("28", 0) == 0) return Status::Unauthenticated(full);
  if (state.rfind("08", 0) == 0 || state.rfind("40", 0) == 0 || state.rfind("57", 0) == 0 ||
      state.rfind("53", 0) == 0) {
    return Status::Retryable(full);
  }
  if (state.rfind("22", 0) == 0 || state.rfind("42", 0) == 0) {
    return Status::InvalidArgument(full);
  }
  if (conn && PQstatus(conn) == CONNECTION_BAD) return Status::Retryable(full);
  return Status::IOError(full);
}

uint16_t U16(const char* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return ntohs(v);
}
uint32_t U32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return ntohl(v);
}
uint64_t U64(const char* p) { return (uint64_t{U32(p)} << 32) | U32(p + 4); }

std::string Be64(int64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; i--) {
    s[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}

std::string QuoteIdent(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string Base64(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += kB64[n & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kB64[n >> 18];
    out += kB64[(n >> 12) & 63];
    out += kB64[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> Unbase64(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (c == '-') p = kB64 + 62;
    if (c == '_') p = kB64 + 63;
    if (!p || !*p) return Status::InvalidArgument("bad base64 id");
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string UuidText(const char* b) {
  static const char* hex = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) t += '-';
    t += hex[uint8_t(b[i]) >> 4];
    t += hex[uint8_t(b[i]) & 15];
  }
  return t;
}

Result<__int128> NumericUnscaled(Field f, int scale, const std::string& col) {
  if (f.length < 8) return Status::Corruption(col + ": short numeric value");
  int ndigits = static_cast<int16_t>(U16(f.data));
  int weight = static_cast<int16_t>(U16(f.data + 2));
  uint16_t sign = U16(f.data + 4);
  if (sign == 0xC000) return Status::InvalidArgument(col + ": NaN does not fit a DECIMAL");
  if (sign != 0 && sign != 0x4000) {
    return Status::InvalidArgument(col + ": infinite numeric does not fit a DECIMAL");
  }
  if (f.length < 8 + 2 * ndigits) return Status::Corruption(col + ": short numeric value");
  __int128 acc = 0;
  for (int i = 0; i < ndigits; i++) acc = acc * 10000 + U16(f.data + 8 + 2 * i);
  int exp10 = 4 * (weight - ndigits + 1) + scale;
  for (; exp10 > 0; exp10--) acc *= 10;
  for (; exp10 < 0; exp10++) acc /= 10;
  return sign == 0x4000 ? -acc : acc;
}

// An array element as ListElement text (bytes for bytea).
std::string ElementText(uint32_t oid, const char* p, int len) {
  switch (oid) {
    case kInt2Oid:
      return std::to_string(static_cast<int16_t>(U16(p)));
    case kInt4Oid:
      return std::to_string(static_cast<int32_t>(U32(p)));
    case kInt8Oid:
      return std::to_string(static_cast<int64_t>(U64(p)));
    case kFloat8Oid: {
      uint64_t u = U64(p);
      double d;
      std::memcpy(&d, &u, 8);
      return fmt::format("{}", d);
    }
    case kBoolOid:
      return *p ? "t" : "f";
    default:
      return std::string(p, len);
  }
}

}  // namespace

Result<std::pair<std::string, std::string>> ParseTableName(const std::string& table) {
  std::vector<std::string> parts(1);
  bool quoted_part = false;
  for (size_t i = 0; i < table.size(); i++) {
    char c = table[i];
    if (c == '"') {
      size_t end = i + 1;
      std::string q;
      for (;; end++) {
        if (end >= table.size()) {
          return Status::InvalidArgument("table " + table + ": unterminated quote");
        }
        if (table[end] == '"') {
          if (end + 1 < table.size() && table[end + 1] == '"') {
            q += '"';
            end++;
            continue;
          }
          break;
        }
        q += table[end];
      }
      parts.back() += q;
      quoted_part = true;
      i = end;
    } else if (c == '.') {
      if (parts.back().empty() && !quoted_part) break;
      parts.emplace_back();
      quoted_part = false;
    } else {
      // Unquoted identifiers fold to lower case, as PostgreSQL folds them.
      parts.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  for (const auto& p : parts) {
    if (p.empty()) return Status::InvalidArgument("table '" + table + "': an empty name part");
  }
  if (parts.size() > 2) {
    return Status::InvalidArgument("table " + table +
                                   ": expected schema.table or table (quote a name with a '.')");
  }
  if (parts.size() == 1) return std::make_pair(std::string("public"), parts[0]);
  return std::make_pair(parts[0], parts[1]);
}

std::pair<std::string, std::string> SplitTable(const std::string& table) {
  auto parsed = ParseTableName(table);
  if (!parsed.ok()) return {"public", table};
  return *parsed;
}

std::string QualifiedName(const std::string& table) {
  auto [schema, name] = SplitTable(table);
  return QuoteIdent(schema) + "." + QuoteIdent(name);
}

std::string RedactConninfo(const std::string& conninfo) {
  static const std::regex uri_pw(R"(^(postgres(ql)?://[^:/@]*:)[^@]*@)");
  static const std::regex kv_pw(R"(password\s*=\s*('[^']*'|\S+))");
  std::string s = std::regex_replace(conninfo, uri_pw, "$1***@");
  return std::regex_replace(s, kv_pw, "password=***");
}

Status CheckConninfo(const std::string& conninfo) {
  if (conninfo.empty()) return Status::OK();
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts) {
    PQconninfoFree(opts);
    return Status::OK();
  }
  std::string msg = err ? FirstLine(err) : "cannot be parsed";
  if (err) PQfreemem(err);
  // libpq quotes the whole string back (`… in URI: "postgres://user:secret@…"`): the error
  // names it once, redacted, at its start.
  if (auto in_uri = msg.find(" in URI: \""); in_uri != std::string::npos) msg.erase(in_uri);
  return Status::InvalidArgument(RedactConninfo(conninfo) + ": not a connection string: " + msg);
}

class Connection::Impl {
 public:
  ~Impl() {
    if (conn_) PQfinish(conn_);
  }
  PGconn* conn_ = nullptr;
  std::string where_;
  int statements_ = 0;  // prepared so far, for unique names
};

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& conninfo) {
  auto impl = std::make_unique<Impl>();
  impl->conn_ = PQconnectdb(conninfo.c_str());
  impl->where_ = conninfo.empty() ? "postgres (PG* variables)" : RedactConninfo(conninfo);
  if (!impl->conn_) return Status::IOError(impl->where_ + ": cannot allocate a connection");
  if (PQstatus(impl->conn_) != CONNECTION_OK) {
    std::string msg = FirstLine(PQerrorMessage(impl->conn_));
    std::string full = impl->where_ + ": cannot connect: " + msg;
    if (msg.find("password") != std::string::npos ||
        msg.find("authentication") != std::string::npos) {
      return Status::Unauthenticated(full);
    }
    if (msg.find("does not exist") != std::string::npos) return Status::NotFound(full);
    return Status::Retryable(full);
  }
  return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

Result<std::vector<std::vector<std::optional<std::string>>>> Connection::QueryText(
    const std::string& sql) {
  PGresult* res = PQexec(impl_->conn_, sql.c_str());
  if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK) {
    Status s = PgStatus(impl_->conn_, res, impl_->where_);
    PQclear(res);
    return s;
  }
  std::vector<std::vector<std::optional<std::string>>> rows;
  for (int r = 0; r < PQntuples(res); r++) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < PQnfields(res); c++) {
      if (PQgetisnull(res, r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, c), PQgetlength(res, r, c)));
      }
    }
  }
  PQclear(res);
  return rows;
}

namespace {

// What a column of type c.oid (with its typmod) becomes in Parquet; c.as_text when nothing
// maps it faithfully.
void MapType(PgColumn& c, int typmod) {
  c.as_text = false;
  c.type = ColumnType{};
  ColumnType& t = c.type;
  switch (c.oid) {
    case kBoolOid:
      t.kind = ColumnKind::kBoolean;
      break;
    case kByteaOid:
      t.kind = ColumnKind::kBlob;
      break;
    case kInt2Oid:
      t.kind = ColumnKind::kSmallInt;
      break;
    case kInt4Oid:
      t.kind = ColumnKind::kInteger;
      break;
    case kInt8Oid:
      t.kind = ColumnKind::kBigInt;
      break;
    case kFloat4Oid:
      t.kind = ColumnKind::kFloat;
      break;
    case kFloat8Oid:
      t.kind = ColumnKind::kDouble;
      break;
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
    case kNameOid:
      t.kind = ColumnKind::kVarchar;
      break;
    case kJsonOid:
    case kJsonbOid:
      t.kind = ColumnKind::kJson;
      break;
    case kUuidOid:
      t.kind = ColumnKind::kUuid;
      break;
    case kDateOid:
      t.kind = ColumnKind::kDate;
      break;
    case kTimestampOid:
      t.kind = ColumnKind::kTimestamp;
      break;
    case kTimestampTzOid:
      t.kind = ColumnKind::kTimestampTz;
      break;
    case kNumericOid: {
      int precision = typmod >= 4 ? ((typmod - 4) >> 16) & 0xffff : 0;
      int scale = typmod >= 4 ? (typmod - 4) & 0xffff : 0;
      if (precision > 0 && precision <= 38) {
        t.kind = ColumnKind::kDecimal;
        t.width = precision;
        t.scale = scale;
      } else {
        c.as_text = true;  // unconstrained or wider than DECIMAL(38): exact as text
      }
      break;
    }
    default:
      if (c.elem_oid != 0 && c.pg_type.size() > 2 &&
          c.pg_type.compare(c.pg_type.size() - 2, 2, "[]") == 0) {
        t.kind = ColumnKind::kList;
        switch (c.elem_oid) {
          case kByteaOid:
            t.element = ColumnKind::kBlob;
            break;
          case kTextOid:
          case kVarcharOid:
          case kBpcharOid:
            t.element = ColumnKind::kVarchar;
            break;
          case kInt2Oid:
          case kInt4Oid:
          case kInt8Oid:
            t.element = ColumnKind::kBigInt;
            break;
          case kFloat8Oid:
            t.element = ColumnKind::kDouble;
            break;
          case kBoolOid:
            t.element = ColumnKind::kBoolean;
            break;
          default:
            c.as_text = true;
        }
      } else {
        c.as_text = true;
      }
  }
  if (c.as_text) {
    t = ColumnType{};
    t.kind = ColumnKind::kVarchar;
    c.oid = kTextOid;
  }
}

}  // namespace

Result<std::vector<PgColumn>> Connection::Columns(const std::string& table,
                                                  const std::map<std::string, std::string>& cast) {
  const char* sql =
      "SELECT a.attname, a.atttypid::int8, format_type(a.atttypid, a.atttypmod), a.atttypmod, "
      "a.attnotnull, t.typelem::int8 FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
      "WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped "
      "ORDER BY a.attnum";
  const std::string qualified = QualifiedName(table);
  const char* params[1] = {qualified.c_str()};
  PGresult* res = PQexecParams(impl_->conn_, sql, 1, nullptr, params, nullptr, nullptr, 0);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    Status s = PgStatus(impl_->conn_, res, impl_->where_);
    if (s.IsNotFound()) {
      // PostgreSQL's "relation \"public.t\" does not exist" would name the table a second
      // time after the error's own "public.t: ".
      s = Status::NotFound(impl_->where_ + ": the table does not exist");
    }
    PQclear(res);
    return s;
  }
  std::vector<PgColumn> cols;
  for (int r = 0; r < PQntuples(res); r++) {
    PgColumn c;
    c.name = PQgetvalue(res, r, 0);
    c.oid = static_cast<uint32_t>(std::stoll(PQgetvalue(res, r, 1)));
    c.pg_type = PQgetvalue(res, r, 2);
    int typmod = std::stoi(PQgetvalue(res, r, 3));
    c.not_null = PQgetvalue(res, r, 4)[0] == 't';
    c.elem_oid = static_cast<uint32_t>(std::stoll(PQgetvalue(res, r, 5)));
    c.source_oid = c.oid;
    MapType(c, typmod);
    cols.push_back(std::move(c));
  }
  PQclear(res);
  if (cols.empty()) return Status::NotFound(impl_->where_ + ": table " + table + " has no columns");
  for (const auto& [name, type] : cast) {
    auto col =
        std::find_if(cols.begin(), cols.end(), [&](const PgColumn& c) { return c.name == name; });
    const std::string flag = "--column-type " + name + "=" + type;
    if (col == cols.end()) {
      return Status::InvalidArgument(flag + ": table " + table + " has no column " + name);
    }
    for (char ch : type) {
      if (!std::isalnum(static_cast<unsigned char>(ch)) &&
          std::strchr(" _(),.[]\"", ch) == nullptr) {
        return Status::InvalidArgument(flag + ": not a type name");
      }
    }
    // PostgreSQL itself says what the type is: its OID and typmod from a NULL of it.
    PGresult* t = PQexec(impl_->conn_, ("SELECT NULL::" + type).c_str());
    if (PQresultStatus(t) != PGRES_TUPLES_OK) {
      std::string why = PQresultErrorMessage(t);
      PQclear(t);
      while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
      return Status::InvalidArgument(flag + ": " + why);
    }
    uint32_t oid = PQftype(t, 0);
    int typmod = PQfmod(t, 0);
    PQclear(t);
    auto desc = QueryText(fmt::format(
        "SELECT format_type({0}, {1}), typelem::int8 FROM pg_type WHERE oid = {0}", oid, typmod));
    if (!desc.ok()) return desc.status();
    if (desc->empty()) return Status::InvalidArgument(flag + ": not a type name");
    col->oid = oid;
    col->pg_type = (*desc)[0][0].value_or(type);
    col->elem_oid = static_cast<uint32_t>(std::stoll((*desc)[0][1].value_or("0")));
    col->cast_to = col->pg_type;
    MapType(*col, typmod);
  }
  return cols;
}

Status Connection::CheckExactCasts(const std::string& table, const std::vector<PgColumn>& columns) {
  for (const PgColumn& c : columns) {
    if (c.cast_to.empty() || c.source_oid != kNumericOid || c.oid != kNumericOid) continue;
    const std::string col = QuoteIdent(c.name);
    auto r = QueryText(fmt::format("SELECT {0}::text FROM {1} WHERE {0} <> {0}::{2} LIMIT 1", col,
                                   QualifiedName(table), c.cast_to));
    if (!r.ok()) {
      return Status::InvalidArgument(
          fmt::format("--column-type {}={}: {}", c.name, c.cast_to, r.status().message()));
    }
    if (!r->empty()) {
      return Status::InvalidArgument(
          fmt::format("--column-type {}={}: {} value {} would be rounded; choose a type that "
                      "holds it",
                      c.name, c.cast_to, table, (*r)[0][0].value_or("NULL")));
    }
  }
  return Status::OK();
}

namespace {

// One page as the fetch thread hands it over: its rows, or why it could not be read.
struct FetchedPage {
  PGresult* res = nullptr;
  Status status;
};

// Pages fetched ahead of the reader, at most `capacity` waiting. `Stop` ends the fetching
// early (the reader failed): a page being fetched is still read to its end, then dropped.
class PageQueue {
 public:
  explicit PageQueue(size_t capacity) : capacity_(capacity) {}
  ~PageQueue() {
    for (auto& p : pages_) PQclear(p.res);
  }
  // False when the reader stopped; the page is then freed here.
  bool Push(FetchedPage p) {
    std::unique_lock<std::mutex> lock(mu_);
    room_.wait(lock, [&] { return stopped_ || pages_.size() < capacity_; });
    if (stopped_) {
      PQclear(p.res);
      return false;
    }
    pages_.push_back(std::move(p));
    ready_.notify_one();
    return true;
  }
  // The next page; std::nullopt after the last.
  std::optional<FetchedPage> Pop() {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait(lock, [&] { return done_ || !pages_.empty(); });
    if (pages_.empty()) return std::nullopt;
    FetchedPage p = std::move(pages_.front());
    pages_.pop_front();
    room_.notify_one();
    return p;
  }
  void Done() {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    ready_.notify_one();
  }
  bool stopped() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopped_;
  }
  void Stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    room_.notify_one();
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable ready_, room_;
  std::deque<FetchedPage> pages_;
  bool done_ = false, stopped_ = false;
};

}  // namespace

Result<int64_t> Connection::ReadPages(
    const std::string& table, const std::vector<PgColumn>& columns, size_t ts_index,
    size_t id_index, std::optional<Key> from, int64_t page_rows,
    const std::function<Status(const Field*, bool first_of_page)>& on_row) {
  std::string select;
  for (const auto& c : columns) {
    if (!select.empty()) select += ", ";
    select += QuoteIdent(c.name);
    if (!c.cast_to.empty()) select += "::" + c.cast_to;
    if (c.as_text) select += "::text";
  }
  std::string ts = QuoteIdent(columns[ts_index].name), id = QuoteIdent(columns[id_index].name);
  std::string base = fmt::format("SELECT {} FROM {}", select, QualifiedName(table));
  std::string order = fmt::format(" ORDER BY {}, {} LIMIT ", ts, id);
  // A page after a key asks for one row more: its first row is the key's own, already read.
  std::string first_sql = base + order + std::to_string(page_rows);
  std::string next_sql = base + fmt::format(" WHERE ({}, {}) >= ($1, $2)", ts, id) + order +
                         std::to_string(page_rows + 1);
  Oid types[2] = {columns[ts_index].oid, columns[id_index].oid};
  PGconn* conn = impl_->conn_;
  const std::string where = impl_->where_ + ": " + table;

  // The fetch thread asks for page N+1 as soon as page N has arrived (its last row is the next
  // key), so that the server produces a page while this thread decodes the one before.
  PageQueue queue(2);
  // One prepared statement per call, under a name of its own, for the connection's life.
  const std::string statement = fmt::format("lakepack_page_{}", impl_->statements_++);
  bool prepared = false;
  std::thread fetcher([&, from]() mutable {
    for (;;) {
      if (queue.stopped()) break;
      const char* values[2] = {nullptr, nullptr};
      int lengths[2] = {0, 0};
      int formats[2] = {1, 1};
      if (from) {
        values[0] = from->ts.data();
        lengths[0] = static_cast<int>(from->ts.size());
        values[1] = from->id.data();
        lengths[1] = static_cast<int>(from->id.size());
      }
      PGresult* res = nullptr;
      if (!from) {
        res = PQexecParams(conn, first_sql.c_str(), 0, types, values, lengths, formats,
                           /*resultFormat=*/1);
      } else {
        // Pages after a key run one prepared statement: parsed once, and planned once the
        // server settles on its generic plan (each plan spans every partition).
        if (!prepared) {
          PGresult* prep = PQprepare(conn, statement.c_str(), next_sql.c_str(), 2, types);
          if (PQresultStatus(prep) != PGRES_COMMAND_OK) {
            Status s = PgStatus(conn, prep, where);
            PQclear(prep);
            queue.Push({nullptr, s});
            break;
          }
          PQclear(prep);
          prepared = true;
        }
        res = PQexecPrepared(conn, statement.c_str(), 2, values, lengths, formats,
                             /*resultFormat=*/1);
      }
      if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        Status s = PgStatus(conn, res, where);
        PQclear(res);
        queue.Push({nullptr, s});
        break;
      }
      int n = PQntuples(res);
      int64_t limit = page_rows + (from ? 1 : 0);
      if (n > 0) {
        Key next;
        if (!PQgetisnull(res, n - 1, static_cast<int>(ts_index))) {
          next.ts.assign(PQgetvalue(res, n - 1, static_cast<int>(ts_index)),
                         PQgetlength(res, n - 1, static_cast<int>(ts_index)));
        }
        if (!PQgetisnull(res, n - 1, static_cast<int>(id_index))) {
          next.id.assign(PQgetvalue(res, n - 1, static_cast<int>(id_index)),
                         PQgetlength(res, n - 1, static_cast<int>(id_index)));
        }
        from = std::move(next);
      }
      if (!queue.Push({res, Status::OK()}) || n < limit) break;
    }
    queue.Done();
  });

  struct Joiner {  // the fetch thread ends before the queue it uses, on every way out
    PageQueue& queue;
    std::thread& thread;
    ~Joiner() {
      queue.Stop();
      thread.join();
    }
  } joiner{queue, fetcher};
  int64_t total = 0;
  Status st;
  std::vector<Field> fields(columns.size());
  while (st.ok()) {
    std::optional<FetchedPage> page = queue.Pop();
    if (!page) break;
    if (!page->status.ok()) {
      st = page->status;
      break;
    }
    PGresult* res = page->res;
    int n = PQntuples(res);
    int nf = std::min(PQnfields(res), static_cast<int>(columns.size()));
    for (int r = 0; r < n && st.ok(); r++) {
      for (int c = 0; c < nf; c++) {
        if (PQgetisnull(res, r, c)) {
          fields[c] = Field{};
        } else {
          fields[c] = Field{PQgetvalue(res, r, c), PQgetlength(res, r, c)};
        }
      }
      st = on_row(fields.data(), r == 0);
    }
    total += n;
    PQclear(res);
  }
  if (!st.ok()) return st;
  return total;
}

Status AppendRow(const std::vector<PgColumn>& columns, const Field* fields, RowBuffer& b) {
  for (size_t i = 0; i < columns.size(); i++) {
    const PgColumn& c = columns[i];
    Field f = fields[i];
    if (f.null()) {
      b.Null();
      continue;
    }
    switch (c.type.kind) {
      case ColumnKind::kBoolean:
        b.Bool(f.data[0] != 0);
        break;
      case ColumnKind::kSmallInt:
        b.Int(static_cast<int16_t>(U16(f.data)));
        break;
      case ColumnKind::kInteger:
        b.Int(static_cast<int32_t>(U32(f.data)));
        break;
      case ColumnKind::kBigInt:
        b.Int(static_cast<int64_t>(U64(f.data)));
        break;
      case ColumnKind::kFloat: {
        uint32_t u = U32(f.data);
        float v;
        std::memcpy(&v, &u, 4);
        b.Double(v);
        break;
      }
      case ColumnKind::kDouble: {
        uint64_t u = U64(f.data);
        double v;
        std::memcpy(&v, &u, 8);
        b.Double(v);
        break;
      }
      case ColumnKind::kDecimal: {
        LP_ASSIGN_OR_RETURN(__int128 v, NumericUnscaled(f, c.type.scale, c.name));
        b.Decimal(v);
        break;
      }
      case ColumnKind::kJson:
        // jsonb's binary form is a version byte (1) and the text.
        if (c.oid == kJsonbOid && f.length > 0) {
          b.String(std::string_view(f.data + 1, f.length - 1));
        } else {
          b.String(f.view());
        }
        break;
      case ColumnKind::kVarchar:
      case ColumnKind::kBlob:
        b.String(f.view());
        break;
      case ColumnKind::kUuid:
        b.Uuid(reinterpret_cast<const uint8_t*>(f.data));
        break;
      case ColumnKind::kDate: {
        int32_t d = static_cast<int32_t>(U32(f.data));
        if (d != std::numeric_limits<int32_t>::max() && d != std::numeric_limits<int32_t>::min()) {
          d += kPgEpochDays;
        }
        b.Date(d);
        break;
      }
      case ColumnKind::kTimestamp:
      case ColumnKind::kTimestampTz: {
        LP_ASSIGN_OR_RETURN(int64_t us, TimestampMicros(c, f));
        b.Timestamp(us);
        break;
      }
      case ColumnKind::kList: {
        if (f.length < 12) return Status::Corruption(c.name + ": short array value");
        int ndim = static_cast<int32_t>(U32(f.data));
        uint32_t elem = U32(f.data + 8);
        const char* p = f.data + 12;
        int64_t count = ndim > 0 ? 1 : 0;
        for (int d = 0; d < ndim; d++, p += 8) count *= static_cast<int32_t>(U32(p));
        const char* end = f.data + f.length;
        std::vector<ListElement> elems;
        elems.reserve(count);
        for (int64_t k = 0; k < count; k++) {
          if (p + 4 > end) return Status::Corruption(c.name + ": short array value");
          int len = static_cast<int32_t>(U32(p));
          p += 4;
          if (len < 0) {
            elems.emplace_back(std::nullopt);
            continue;
          }
          if (p + len > end) return Status::Corruption(c.name + ": short array value");
          elems.emplace_back(ElementText(elem, p, len));
          p += len;
        }
        b.List(elems);
        break;
      }
    }
  }
  return b.EndRow();
}

Result<int64_t> TimestampMicros(const PgColumn& column, Field f) {
  if (f.null()) return Status::InvalidArgument(column.name + ": NULL in a key column");
  if (column.oid == kDateOid) {
    int32_t d = static_cast<int32_t>(U32(f.data));
    return (static_cast<int64_t>(d) + kPgEpochDays) * 86400000000LL;
  }
  if (column.oid != kTimestampOid && column.oid != kTimestampTzOid) {
    return Status::InvalidArgument(column.name + ": the order column must be a timestamp, " +
                                   "timestamptz or date, not " + column.pg_type);
  }
  int64_t v = static_cast<int64_t>(U64(f.data));
  if (v == std::numeric_limits<int64_t>::max() || v == std::numeric_limits<int64_t>::min()) {
    return v;
  }
  return v + kPgEpochMicros;
}

Result<std::string> IdText(const PgColumn& column, Field f) {
  if (f.null()) return Status::InvalidArgument(column.name + ": NULL in a key column");
  switch (column.oid) {
    case kByteaOid: {
      std::string s = Base64(f.view());
      for (char& ch : s) {
        if (ch == '+') ch = '-';
        if (ch == '/') ch = '_';
      }
      return s;
    }
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
      return std::string(f.view());
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid:
      return ElementText(column.oid, f.data, f.length);
    case kUuidOid:
      return UuidText(f.data);
    default:
      return Status::InvalidArgument(column.name + ": the id column must be bytea, text, " +
                                     "an integer or uuid, not " + column.pg_type);
  }
}

Result<std::string> EncodeTimestamp(const PgColumn& column, int64_t micros) {
  if (column.oid == kDateOid) {
    int32_t d = static_cast<int32_t>(micros / 86400000000LL - kPgEpochDays);
    uint32_t be = htonl(static_cast<uint32_t>(d));
    return std::string(reinterpret_cast<const char*>(&be), 4);
  }
  return Be64(micros - kPgEpochMicros);
}

Result<std::string> EncodeId(const PgColumn& column, const std::string& id, bool id_is_base64) {
  switch (column.oid) {
    case kByteaOid:
      if (!id_is_base64) return Status::Corruption(column.name + ": expected a BLOB id");
      return Unbase64(id);
    case kTextOid:
    case kVarcharOid:
    case kBpcharOid:
      return id;
    case kInt2Oid: {
      uint16_t be = htons(static_cast<uint16_t>(std::stoi(id)));
      return std::string(reinterpret_cast<const char*>(&be), 2);
    }
    case kInt4Oid: {
      uint32_t be = htonl(static_cast<uint32_t>(std::stol(id)));
      return std::string(reinterpret_cast<const char*>(&be), 4);
    }
    case kInt8Oid:
      return Be64(std::stoll(id));
    case kUuidOid: {
      std::string hex;
      for (char ch : id) {
        if (ch != '-') hex += ch;
      }
      if (hex.size() != 32) return Status::Corruption(column.name + ": bad uuid " + id);
      std::string out;
      for (size_t i = 0; i < 32; i += 2) {
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
      }
      return out;
    }
    default:
      return Status::InvalidArgument(column.name + ": unsupported id type");
  }
}

}  // namespace lakepack::pg
