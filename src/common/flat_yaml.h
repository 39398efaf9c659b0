// A reader for flat YAML configuration files (the seeds' config.yml): one `key: value` per
// line, comments, quoted or plain scalars. Anything nested (lists, mappings, multi-line
// scalars) is refused with the line, rather than misread; lakepack's configs need no more.
#pragma once

#include <map>
#include <string>

#include "lakepack/status.h"

namespace lakepack {

//! Parses `path`; errors name the file and line.
Result<std::map<std::string, std::string>> ReadFlatYaml(const std::string& path);
//! The same, from text (`name` is for messages).
Result<std::map<std::string, std::string>> ParseFlatYaml(const std::string& text,
                                                         const std::string& name);

}  // namespace lakepack
