// Schema union rules (see schema_union.h).
#include "plan/schema_union.h"

#include <fmt/format.h>

#include <map>

namespace lakepack {

namespace {

// Families of types DuckDB unites by widening without changing what values mean.
std::string Family(const std::string& type) {
  static const char* kIntegers[] = {"TINYINT", "SMALLINT", "INTEGER",   "BIGINT",
                                    "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                                    "UBIGINT", "UHUGEINT", "FLOAT",     "DOUBLE"};
  for (auto* t : kIntegers) {
    if (type == t) return "number";
  }
  if (type.rfind("DECIMAL", 0) == 0) return "number";
  if (type == "TIMESTAMP" || type == "TIMESTAMP_S" || type == "TIMESTAMP_MS" ||
      type == "TIMESTAMP_NS" || type == "DATE") {
    return "timestamp";
  }
  if (type == "NULL" || type == '"' + std::string("NULL") + '"') return "";  // unites with all
  return type;  // everything else only with itself (VARCHAR, BLOB, UUID, nested types, ...)
}

}  // namespace

Status CheckSchemasUnite(
    const std::vector<std::pair<std::string, std::vector<ColumnInfo>>>& files) {
  struct Seen {
    std::string family, type, file;
  };
  std::map<std::string, Seen> columns;
  for (const auto& [file, cols] : files) {
    for (const auto& c : cols) {
      std::string fam = Family(c.type);
      if (fam.empty()) continue;
      auto [it, fresh] = columns.try_emplace(c.name, Seen{fam, c.type, file});
      if (!fresh && it->second.family != fam) {
        return Status::InvalidArgument(
            fmt::format("column '{}' has type {} in {} but {} in {}: cannot merge them", c.name,
                        it->second.type, it->second.file, c.type, file));
      }
    }
  }
  return Status::OK();
}

}  // namespace lakepack
