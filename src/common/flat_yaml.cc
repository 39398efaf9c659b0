#include "common/flat_yaml.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace lakepack {

namespace {

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

Result<std::map<std::string, std::string>> ParseFlatYaml(const std::string& text,
                                                         const std::string& name) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    n++;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#' || t == "---") continue;
    auto error = [&](const std::string& why) {
      return Status::InvalidArgument(fmt::format("{}: line {}: {}", name, n, why));
    };
    if (line[0] == ' ' || line[0] == '\t' || t[0] == '-') {
      return error("nested values and lists are not supported (one `key: value` per line)");
    }
    size_t colon = t.find(':');
    if (colon == std::string::npos) return error("expected `key: value`");
    std::string key = Trim(t.substr(0, colon));
    std::string value = Trim(t.substr(colon + 1));
    if (key.empty()) return error("a key is empty");
    if (!value.empty() && (value[0] == '"' || value[0] == '\'')) {
      char q = value[0];
      size_t end = value.find(q, 1);
      if (end == std::string::npos) return error("an unterminated quoted value");
      std::string rest = Trim(value.substr(end + 1));
      if (!rest.empty() && rest[0] != '#') return error("text after a quoted value");
      value = value.substr(1, end - 1);
    } else {
      size_t hash = value.find(" #");
      if (hash != std::string::npos) value = Trim(value.substr(0, hash));
      if (value == "|" || value == ">" || value == "{" || value == "[") {
        return error("multi-line and flow values are not supported");
      }
    }
    if (out.count(key)) return error("key '" + key + "' appears twice");
    out[key] = value;
  }
  return out;
}

Result<std::map<std::string, std::string>> ReadFlatYaml(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read the configuration file");
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseFlatYaml(ss.str(), path);
}

}  // namespace lakepack
