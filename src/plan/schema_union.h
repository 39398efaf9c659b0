// Uniting the columns of many files by name: which type differences lakepack reconciles
// (widening within numbers, within timestamps) and which stop the merge (anything else).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lakepack/format.h"
#include "lakepack/status.h"

namespace lakepack {

//! OK when every column name has types that unite without loss of meaning. Otherwise
//! FailedPrecondition naming the column, two files and their types.
Status CheckSchemasUnite(const std::vector<std::pair<std::string, std::vector<ColumnInfo>>>& files);

//! The columns of one input and whether it is text on disk (CSV, JSON lines: the types are the
//! sniffer's reading of text, not stored types).
struct InputColumns {
  std::string file;  // as shown to the user
  bool text = false;
  std::vector<ColumnInfo> columns;
};

//! For a text input: the first non-NULL value of `column` that does not turn into `type` and
//! back into the same text, or nullopt when every value does.
using FitsFn = std::function<Result<std::optional<std::string>>(
    size_t input, const std::string& column, const std::string& type)>;

//! The one schema rule of every command (docs/formats.md). Stored types unite as
//! CheckSchemasUnite says. A text input's VARCHAR column meeting a stored type T takes T when
//! every value converts to T and back to the same text (so nothing is lost: "007" does not
//! become 7); anything else is a conflict, FailedPrecondition naming the column, both files and,
//! for text, the value that does not fit. Returns the columns whose text must be read as T.
Result<std::map<std::string, std::string>> UniteInputSchemas(
    const std::vector<InputColumns>& inputs, const FitsFn& fits);

}  // namespace lakepack
