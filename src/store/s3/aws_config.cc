// The INI dialect of the AWS shared files: '#' and ';' comment lines, "key = value", and one
// level of nesting by indentation.
#include "store/s3/aws_config.h"

#include <cctype>

namespace lakepack::s3 {

namespace {

std::string_view Trim(std::string_view s) {
  size_t b = 0;
  while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  size_t e = s.size();
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::map<std::string, ProfileSettings> ParseAwsSharedFile(std::string_view text, bool config_file) {
  std::map<std::string, ProfileSettings> profiles;
  ProfileSettings* current = nullptr;
  std::string nested;  // the key of an open nested section ("s3"), or ""
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() + 1 : eol + 1;
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    bool indented = std::isspace(static_cast<unsigned char>(raw[0]));
    if (line.front() == '[' && line.back() == ']') {
      nested.clear();
      std::string_view name = Trim(line.substr(1, line.size() - 2));
      current = nullptr;
      if (config_file) {
        if (name == "default") {
          current = &profiles["default"];
        } else if (name.substr(0, 8) == "profile " || name.substr(0, 8) == "profile\t") {
          current = &profiles[std::string(Trim(name.substr(8)))];
        }
      } else {
        current = &profiles[std::string(name)];
      }
      continue;
    }
    if (current == nullptr) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key = Lower(Trim(line.substr(0, eq)));
    std::string value(Trim(line.substr(eq + 1)));
    if (indented && !nested.empty()) {
      (*current)[nested + "." + key] = value;
      continue;
    }
    nested.clear();
    if (value.empty()) {
      nested = key;  // "s3 =" opens a nested section of indented lines
      continue;
    }
    (*current)[key] = value;
  }
  return profiles;
}

}  // namespace lakepack::s3
