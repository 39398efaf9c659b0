// Schema union rules (see schema_union.h).
#include "plan/schema_union.h"

#include <fmt/format.h>

#include <iterator>
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

// Within a family, the wider of two types (what a union of both must be).
int Width(const std::string& type) {
  static const char* kOrder[] = {"DATE",         "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP",
                                 "TIMESTAMP_NS", "TINYINT",     "UTINYINT",     "SMALLINT",
                                 "USMALLINT",    "INTEGER",     "UINTEGER",     "BIGINT",
                                 "UBIGINT",      "HUGEINT",     "UHUGEINT",     "FLOAT"};
  for (int i = 0; i < static_cast<int>(std::size(kOrder)); i++) {
    if (type == kOrder[i]) return i;
  }
  if (type.rfind("DECIMAL", 0) == 0) return 100;
  if (type == "DOUBLE") return 101;
  return -1;
}

}  // namespace

Result<std::map<std::string, std::string>> UniteInputSchemas(
    const std::vector<InputColumns>& inputs, const FitsFn& fits) {
  // Stored types must unite by the stored-type rule; the types a sniffer read from text only
  // where no stored type names the column.
  std::vector<std::pair<std::string, std::vector<ColumnInfo>>> stored, guessed;
  for (const auto& in : inputs) {
    std::vector<ColumnInfo> cols;
    for (const auto& c : in.columns) {
      if (!in.text || c.type != "VARCHAR") cols.push_back(c);
    }
    (in.text ? guessed : stored).emplace_back(in.file, std::move(cols));
  }
  LP_RETURN_IF_ERROR(CheckSchemasUnite(stored));
  struct Anchor {
    std::string type, file;
    bool stored = false;
  };
  std::map<std::string, Anchor> anchors;
  auto add = [&](const std::vector<std::pair<std::string, std::vector<ColumnInfo>>>& files,
                 bool is_stored) {
    for (const auto& [file, cols] : files) {
      for (const auto& c : cols) {
        if (Family(c.type).empty()) continue;
        auto [it, fresh] = anchors.try_emplace(c.name, Anchor{c.type, file, is_stored});
        if (!fresh && it->second.stored == is_stored && Width(c.type) > Width(it->second.type)) {
          it->second = {c.type, file, is_stored};
        }
      }
    }
  };
  add(stored, true);
  std::vector<std::pair<std::string, std::vector<ColumnInfo>>> unanchored;
  for (const auto& [file, cols] : guessed) {
    std::vector<ColumnInfo> free;
    for (const auto& c : cols) {
      if (!anchors.count(c.name)) free.push_back(c);
    }
    unanchored.emplace_back(file, std::move(free));
  }
  LP_RETURN_IF_ERROR(CheckSchemasUnite(unanchored));
  add(unanchored, false);
  // Every text column meets the type of its name: the same family widens; anything else must
  // be that type written as text.
  std::map<std::string, std::string> read_as;
  for (size_t i = 0; i < inputs.size(); i++) {
    const auto& in = inputs[i];
    if (!in.text) continue;
    for (const auto& c : in.columns) {
      auto it = anchors.find(c.name);
      if (it == anchors.end() || it->second.type == c.type) continue;
      if (Family(it->second.type) == Family(c.type) || Family(c.type).empty()) continue;
      LP_ASSIGN_OR_RETURN(std::optional<std::string> bad, fits(i, c.name, it->second.type));
      if (bad) {
        return Status::FailedPrecondition(fmt::format(
            "column '{}' has type {} in {} but text in {} whose value '{}' is not a {}: cannot "
            "merge them (give --schema to cast on purpose)",
            c.name, it->second.type, it->second.file, in.file, *bad, it->second.type));
      }
      read_as[c.name] = it->second.type;
    }
  }
  return read_as;
}

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
        return Status::FailedPrecondition(
            fmt::format("column '{}' has type {} in {} but {} in {}: cannot merge them", c.name,
                        it->second.type, it->second.file, c.type, file));
      }
    }
  }
  return Status::OK();
}

}  // namespace lakepack
