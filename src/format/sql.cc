// SQL text for the format engine (see sql.h).
#include "format/sql.h"

#include "format/text_scan.h"

#include <fmt/format.h>

#include <map>
#include <tuple>
#include <vector>

namespace lakepack::sql {

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  out += '\'';
  return out;
}

std::string QuoteIdentifier(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

std::string PathList(const std::vector<std::string>& paths) {
  std::string out = "[";
  for (size_t i = 0; i < paths.size(); i++) {
    if (i) out += ", ";
    out += Quote(paths[i]);
  }
  return out + "]";
}

// DuckDB's `columns` argument: {'name': 'TYPE', ...}.
std::string ColumnsArgument(const std::vector<ColumnInfo>& columns) {
  std::string out;
  for (const auto& c : columns)
    out += (out.empty() ? "" : ", ") + Quote(c.name) + ": " + Quote(c.type);
  return "{" + out + "}";
}

std::string ReadGroup(FileFormat f, char delim, const std::vector<ColumnInfo>& json_columns,
                      const std::vector<std::string>& paths) {
  std::string list = PathList(paths);
  switch (f) {
    case FileFormat::kParquet:
      // hive_partitioning off everywhere: a lake's "year=2024/" directories must not turn into
      // columns of the rows read (DuckDB guesses them from the path by default).
      return fmt::format(
          "SELECT * FROM read_parquet({}, union_by_name = true, hive_partitioning = false)", list);
    case FileFormat::kCsv:
      // The dialect is lakepack's, never the sniffer's guess: DuckDB would otherwise pick lines
      // to skip, a missing header or comment lines per file, and rows would vanish without an
      // error. Only the column types are detected. A record that does not parse fails the read.
      return fmt::format(
          "SELECT * FROM read_csv({}, union_by_name = true, hive_partitioning = false, "
          "header = true, skip = 0, delim = {}, quote = '\"', escape = '\"', comment = '', "
          "strict_mode = true, null_padding = false, max_line_size = {}, sample_size = 20480)",
          list, Quote(std::string(1, delim)), kMaxRecordBytes + 4096);
    case FileFormat::kJsonLines:
      return fmt::format(
          "SELECT * FROM read_json({}, format = 'newline_delimited', union_by_name = true, "
          "hive_partitioning = false, maximum_object_size = {}{})",
          list, kMaxRecordBytes + 4096,
          json_columns.empty() ? "" : ", columns = " + ColumnsArgument(json_columns));
    case FileFormat::kAvro:  // not the engine's (CheckInputsExist refuses it)
    case FileFormat::kUnknown:
      break;
  }
  return "SELECT NULL WHERE false";
}

}  // namespace

std::string ReadExpression(const std::vector<ReadFile>& files) {
  // Group paths by format (and CSV delimiter), keeping the order of first appearance, then
  // unite the groups by column name.
  using Group = std::tuple<FileFormat, char, std::string>;  // the last: json_columns as SQL
  std::vector<Group> order;
  std::map<Group, std::vector<std::string>> groups;
  std::map<Group, std::vector<ColumnInfo>> columns;
  for (const auto& f : files) {
    Group g{f.format, f.format == FileFormat::kCsv ? f.delimiter : '\0',
            f.json_columns.empty() ? "" : ColumnsArgument(f.json_columns)};
    if (!groups.count(g)) order.push_back(g);
    groups[g].push_back(f.path);
    columns[g] = f.json_columns;
  }
  auto read = [&](const Group& g) {
    return ReadGroup(std::get<0>(g), std::get<1>(g), columns[g], groups[g]);
  };
  if (order.size() == 1) return fmt::format("({})", read(order[0]));
  std::string out = "(";
  for (size_t i = 0; i < order.size(); i++) {
    if (i) out += " UNION ALL BY NAME ";
    out += "(" + read(order[i]) + ")";
  }
  return out + ")";
}

std::string WriteOptions(const WriteSpec& out) {
  switch (out.format) {
    case FileFormat::kParquet: {
      std::string s =
          fmt::format("FORMAT parquet, COMPRESSION {}", CompressionName(out.compression));
      if (out.row_group_rows > 0) s += fmt::format(", ROW_GROUP_SIZE {}", out.row_group_rows);
      if (!out.metadata.empty()) {
        std::string kv;
        for (const auto& [k, v] : out.metadata) {
          kv += (kv.empty() ? "" : ", ") + Quote(k) + ": " + Quote(v);
        }
        s += ", KV_METADATA {" + kv + "}";
      }
      return s;
    }
    case FileFormat::kCsv:
      return "FORMAT csv, HEADER true";
    case FileFormat::kJsonLines:
      return "FORMAT json";
    case FileFormat::kAvro:  // not the engine's (CheckInputsExist refuses it)
    case FileFormat::kUnknown:
      break;
  }
  return "FORMAT parquet";
}

}  // namespace lakepack::sql

namespace lakepack::sql {

std::string SampleQuery(int64_t rows, int64_t seed, int64_t start_us, int64_t step_us) {
  // Values derive from md5 of (seed, i) so that every run makes the same bytes.
  return fmt::format(
      R"(SELECT
  unhex(md5(h || 'id') || md5(h || 'id2'))::BLOB AS data_item_id,
  unhex(md5(h || 'owner') || md5(h || 'owner2'))::BLOB AS owner_public_address,
  (abs(hash(h)) % 10000000)::BIGINT AS byte_count,
  make_timestamp(({start} + i * {step})::BIGINT) AS uploaded_date,
  (abs(hash(h || 'p')) % 1000000000000)::DECIMAL(20,0) AS assessed_winston_price,
  (substr(m, 1, 8) || '-' || substr(m, 9, 4) || '-' || substr(m, 13, 4) || '-' ||
   substr(m, 17, 4) || '-' || substr(m, 21, 12))::UUID AS plan_id,
  make_timestamp(({start} + i * {step} + 60000000)::BIGINT) AS planned_date,
  unhex(md5(h || 'bundle') || md5(h || 'bundle2'))::BLOB AS bundle_id,
  make_timestamp(({start} + i * {step} + 3600000000)::BIGINT) AS permanent_date,
  (1000000 + i // 100)::INTEGER AS block_height,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 100000)::INTEGER END AS data_start,
  CASE WHEN i % 5 = 0 THEN NULL ELSE (1 + i % 4)::SMALLINT END AS signature_type,
  CASE WHEN i % 11 = 0 THEN [unhex(md5(h || 'f1'))::BLOB, unhex(md5(h || 'f2'))::BLOB]
       ELSE NULL END AS failed_bundles,
  CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'application/json'
       ELSE 'image/png' END AS content_type,
  CASE WHEN i % 13 = 0 THEN 'warp' ELSE NULL END AS premium_feature_type,
  CASE WHEN i % 2 = 0 THEN NULL ELSE (1000200 + i // 100)::INTEGER END AS deadline_height
FROM (SELECT i, {seed}::VARCHAR || ':' || i::VARCHAR AS h, md5({seed}::VARCHAR || ':' || i::VARCHAR || 'plan') AS m
      FROM range({rows}) t(i)) ORDER BY i)",
      fmt::arg("start", start_us), fmt::arg("step", step_us), fmt::arg("seed", seed),
      fmt::arg("rows", rows));
}

}  // namespace lakepack::sql
