// Uniting the columns of many files by name: which type differences lakepack reconciles
// (widening within numbers, within timestamps) and which stop the merge (anything else).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "lakepack/format.h"
#include "lakepack/status.h"

namespace lakepack {

//! OK when every column name has types that unite without loss of meaning. Otherwise
//! InvalidArgument naming the column, two files and their types.
Status CheckSchemasUnite(const std::vector<std::pair<std::string, std::vector<ColumnInfo>>>& files);

}  // namespace lakepack
