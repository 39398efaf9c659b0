// Small string helpers shared across the library (LevelDB's util/ in spirit).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

//! "12.3 MB", "1.1 GB" (powers of 1000, as --target-size's MB).
std::string HumanBytes(double bytes);
//! ASCII lower case.
std::string Lower(std::string_view s);
//! Whether `s` ends with `suffix`.
bool EndsWith(std::string_view s, std::string_view suffix);
//! The pieces of `s` between each `sep` ("a//b" → "a", "", "b"; "" → one empty piece).
std::vector<std::string_view> Split(std::string_view s, char sep);

//! The last segment of a key or path ("a/b/c.csv" -> "c.csv").
std::string BaseName(std::string_view key);
//! The directory part of a key, with its '/' ("" for a key at the root): "a/b/c" → "a/b/".
std::string DirOf(std::string_view key);

//! The last segment of a URI or path, trailing slashes ignored ("s3://b/u/db/t/" -> "t").
std::string RootName(std::string_view uri);

//! A message about a staged copy made to name what the user gave: every occurrence of `local`
//! (the local path the engine read or wrote) becomes `shown` (a URI or the path as given).
std::string ShowPathAs(std::string message, std::string_view local, std::string_view shown);
//! An error message that starts with what it is about ("x.csv: …") names it there only: the
//! later quotings a library added (`Could not write file "x.csv"`, `File 'x.csv' too small`)
//! become "it" or go.
std::string NameOnce(std::string message);
//! The same for a status's message; OK unchanged.
Status ShowPathAs(const Status& status, std::string_view local, std::string_view shown);

//! FNV-1a, 64 bits: a hash that is the same in every build (std::hash is not), for ids that
//! are stored (task ids in the journal) and compared by later runs.
//! Pass the previous result as `h` to hash a stream piece by piece.
//! Length of the valid UTF-8 sequence at s[i..] (1 to 4), or 0 when it is not one (overlong,
//! a surrogate, past U+10FFFF, cut short).
size_t Utf8SequenceLength(std::string_view s, size_t i);
//! Whether all of `s` is valid UTF-8.
bool IsValidUtf8(std::string_view s);

inline constexpr uint64_t kFnv1aOffset = 1469598103934665603ULL;
uint64_t Fnv1a(std::string_view s, uint64_t h = kFnv1aOffset);

}  // namespace lakepack
