// PostgreSQL as a source of rows: a libpq connection, the table's columns mapped to the format
// engine's types, keyset-paginated reads with binary results, and the one place where libpq
// errors become a Status. Only postgres.cc includes libpq-fe.h.
//
// Thread-safety: a Connection is used by one thread at a time; open one per table worker.
// (ReadPages fetches on a thread of its own, which ends before it returns.)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/format.h"
#include "lakepack/status.h"

namespace lakepack::pg {

//! One column of a table and how it is read and written.
struct PgColumn {
  std::string name;
  uint32_t oid = 0;       // the type's OID (after a text cast: 25)
  std::string pg_type;    // format_type(): "numeric(20,0)", "bytea[]", ...
  uint32_t elem_oid = 0;  // arrays: the element type's OID
  bool not_null = false;
  bool as_text = false;     // read as its text form (types without a faithful mapping)
  std::string cast_to;      // --column-type: read as `col::cast_to`, mapped as that type
  uint32_t source_oid = 0;  // the column's own type (oid may differ: text, or cast_to)
  ColumnType type;          // what it becomes in Parquet
};

//! A value in PostgreSQL's binary wire format; data == nullptr means NULL.
struct Field {
  const char* data = nullptr;
  int length = 0;
  bool null() const { return data == nullptr; }
  std::string_view view() const { return {data, static_cast<size_t>(length)}; }
};

//! A keyset position: the binary values of the order columns of one row.
struct Key {
  std::string ts;  // binary, in the ts column's type
  std::string id;  // binary, in the id column's type
  bool operator==(const Key&) const = default;
};

class Connection {
 public:
  //! `conninfo`: a postgres:// URI or "key=value" string; empty: libpq's PG* variables.
  static Result<std::unique_ptr<Connection>> Open(const std::string& conninfo);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  //! The columns of "schema.table" (or "table") in order. NotFound when the table is missing.
  //! `cast`: column name → a PostgreSQL type it is read as instead of its own (--column-type);
  //! a name the table lacks, or a type PostgreSQL does not know, is InvalidArgument.
  Result<std::vector<PgColumn>> Columns(const std::string& table,
                                        const std::map<std::string, std::string>& cast = {});

  //! For each column cast from numeric to a numeric type: InvalidArgument naming the first
  //! value the cast would change (rounded digits), so that a cast never alters a row silently.
  Status CheckExactCasts(const std::string& table, const std::vector<PgColumn>& columns);

  //! Runs a query with text results (small answers: counts, catalog lookups).
  Result<std::vector<std::vector<std::optional<std::string>>>> QueryText(const std::string& sql);

  //! Reads the rows of `table` ordered by (ts, id) whose key is >= `from` (all rows when `from`
  //! is empty), with binary results, in keyset pages of `page_rows` rows, calling `on_row` for
  //! each on the calling thread. A page after the first starts at the last row of the one before
  //! (>=: the caller skips it), and `first_of_page` marks its first row. The next page is
  //! fetched on a thread of its own while the caller works on the current one (at most two
  //! wait), so the server and the caller work at once. Returns the rows read; stops at the
  //! first error of `on_row` or of the server.
  Result<int64_t> ReadPages(const std::string& table, const std::vector<PgColumn>& columns,
                            size_t ts_index, size_t id_index, std::optional<Key> from,
                            int64_t page_rows,
                            const std::function<Status(const Field*, bool first_of_page)>& on_row);

 private:
  class Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

//! Appends one row of binary fields to `buffer`, converting each column's wire format.
Status AppendRow(const std::vector<PgColumn>& columns, const Field* fields, RowBuffer& buffer);

//! A timestamp, timestamptz or date field as microseconds since the Unix epoch.
Result<int64_t> TimestampMicros(const PgColumn& column, Field f);
//! The id's text for file names: base64url of the bytes for bytea, the text form otherwise.
Result<std::string> IdText(const PgColumn& column, Field f);

//! The binary form of a key column from what ReadKeyRange returns (micros; base64 or text).
Result<std::string> EncodeTimestamp(const PgColumn& column, int64_t micros);
Result<std::string> EncodeId(const PgColumn& column, const std::string& id, bool id_is_base64);

//! A table name as PostgreSQL reads it: `schema.table` or `table` (schema public), each part
//! folded to lower case unless double-quoted ("Odd"."My Table", with "" for a quote inside).
//! InvalidArgument for an empty part, an unterminated quote or more than two parts.
Result<std::pair<std::string, std::string>> ParseTableName(const std::string& table);

//! ParseTableName's parts, or {"public", table} for a name it refuses (which Export rejects
//! before any table runs).
std::pair<std::string, std::string> SplitTable(const std::string& table);

//! "\"schema\".\"table\"": the parsed name quoted for SQL.
std::string QualifiedName(const std::string& table);

//! A connection string with any password removed, for messages.
std::string RedactConninfo(const std::string& conninfo);

//! InvalidArgument (naming the redacted string and what libpq says) when `conninfo` cannot be
//! parsed, so that a typo is bad usage before any table runs; OK for an empty string (the PG*
//! variables) and for anything libpq can parse.
Status CheckConninfo(const std::string& conninfo);

}  // namespace lakepack::pg
