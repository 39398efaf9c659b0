// The store-independent parts of ObjectStore: key rules, object URIs and the listing loop
// that every backend shares.
#include "lakepack/object_store.h"

#include <string>
#include <utility>

namespace lakepack {

std::string ObjectStore::UriOf(std::string_view key) const {
  std::string uri = Uri();
  if (uri.empty() || uri.back() != '/') uri += '/';
  uri += key;
  return uri;
}

Result<std::vector<ObjectInfo>> ObjectStore::ListAll(std::string_view prefix) {
  std::vector<ObjectInfo> all;
  ListOptions options;
  options.prefix = std::string(prefix);
  while (true) {
    LP_ASSIGN_OR_RETURN(ListPage page, List(options));
    for (ObjectInfo& info : page.objects) all.push_back(std::move(info));
    if (page.next_token.empty()) break;
    // A backend that hands back the token it was given would loop forever; stop it here.
    if (page.next_token == options.continuation_token) {
      return Status::IOError(Uri() + ": listing of prefix '" + options.prefix +
                             "' returned the same continuation token twice");
    }
    options.continuation_token = std::move(page.next_token);
  }
  return all;
}

namespace {

// Quotes a key for messages: keys may hold spaces, and a NUL would cut the message short.
std::string QuoteKey(std::string_view key) {
  std::string out = "'";
  for (char c : key) {
    if (c == '\0') {
      out += "\\0";
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

}  // namespace

Status ValidateKey(std::string_view key) {
  auto broken = [&](std::string_view rule) {
    return Status::InvalidArgument("invalid key " + QuoteKey(key) + ": " + std::string(rule));
  };
  if (key.empty()) return broken("a key must not be empty");
  if (key.find('\0') != std::string_view::npos) return broken("a key must not contain NUL");
  if (key.front() == '/') return broken("a key must not start with '/'");
  // Walk the '/'-separated segments; a trailing '/' shows up as a final empty segment.
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string_view segment =
        key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty()) {
      return broken(end == std::string_view::npos
                        ? "a key must not end with '/'"
                        : "a key must not contain an empty segment ('//')");
    }
    if (segment == ".") return broken("a key must not contain a '.' segment");
    if (segment == "..") return broken("a key must not contain a '..' segment");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::OK();
}

}  // namespace lakepack
