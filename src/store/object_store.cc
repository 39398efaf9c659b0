// The store-independent parts of ObjectStore: key rules, object URIs and the listing loop
// that every backend shares.
#include "lakepack/object_store.h"

#include <fmt/format.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "store/listing.h"
#include "store/store_util.h"

namespace lakepack {

std::string ObjectInfo::Metadata(std::string_view name) const {
  for (const auto& [k, v] : metadata) {
    if (k == name) return v;
  }
  return std::string();
}

Status CheckMetadata(const std::string& uri,
                     const std::vector<std::pair<std::string, std::string>>& metadata) {
  for (const auto& [name, value] : metadata) {
    bool name_ok = !name.empty() && name.size() <= 128 && name.rfind("lakepack-tag", 0) != 0 &&
                   name.rfind("lakepack-write-id", 0) != 0;
    for (char c : name) {
      name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    }
    if (!name_ok) {
      return Status::InvalidArgument(uri + ": metadata name '" + name +
                                     "' must be lower-case letters, digits and '-'");
    }
    bool value_ok = value.size() <= 1024;
    // It travels as an HTTP header value: printable ASCII without surrounding blanks.
    for (char c : value) value_ok = value_ok && c >= 0x21 && c <= 0x7e;
    if (!value_ok) {
      return Status::InvalidArgument(uri + ": metadata " + name +
                                     " must be at most 1024 bytes of printable ASCII");
    }
  }
  return Status::OK();
}

std::string ObjectStore::UriOf(std::string_view key) const {
  std::string uri = Uri();
  if (uri.empty() || uri.back() != '/') uri += '/';
  uri += key;
  return uri;
}

Result<std::optional<std::string>> ObjectStore::CurrentEtag(std::string_view key) {
  LP_ASSIGN_OR_RETURN(auto info, Stat(key));
  if (!info) return std::optional<std::string>();
  return std::optional<std::string>(std::move(info->etag));
}

Result<std::vector<ObjectInfo>> ObjectStore::ListAll(std::string_view prefix) {
  std::vector<ObjectInfo> all;
  ListOptions options;
  options.prefix = std::string(prefix);
  LP_RETURN_IF_ERROR(ForEachPage(*this, options, [&](ListPage& page) {
    for (ObjectInfo& info : page.objects) all.push_back(std::move(info));
    return Status::OK();
  }));
  return all;
}

namespace {

class KeyedUpload final : public FollowingUpload {
 public:
  KeyedUpload(std::unique_ptr<FollowingUpload> base, std::string key)
      : base_(std::move(base)), key_(std::move(key)) {}
  Status Start() override { return base_->Start(); }
  Result<std::optional<ObjectInfo>> Complete() override {
    LP_ASSIGN_OR_RETURN(auto info, base_->Complete());
    if (info) info->key = key_;
    return info;
  }

 private:
  std::unique_ptr<FollowingUpload> base_;
  std::string key_;
};

}  // namespace

std::unique_ptr<FollowingUpload> ReportKeyAs(std::unique_ptr<FollowingUpload> upload,
                                             std::string key) {
  if (!upload) return upload;
  return std::make_unique<KeyedUpload>(std::move(upload), std::move(key));
}

Status ChangedSincePlannedAt(std::string_view uri, std::string_view etag, std::string_view now) {
  if (now.empty()) {
    return Status::FailedPrecondition(
        fmt::format("{}: changed since it was planned (ETag {}, now absent)", uri, etag));
  }
  return Status::FailedPrecondition(
      fmt::format("{}: changed since it was planned (ETag {}, now {})", uri, etag, now));
}

Status ChangedSincePlanned(const ObjectStore& store, std::string_view key, std::string_view etag,
                           std::string_view now) {
  return ChangedSincePlannedAt(store.UriOf(key), etag, now);
}

Status CheckPutConditions(const ObjectStore& store, std::string_view key,
                          const PutOptions& options) {
  if (!options.if_match.empty() && options.if_none_match) {
    return Status::InvalidArgument(store.UriOf(key) +
                                   ": a write cannot be both create-only (if_none_match) and "
                                   "compare-and-swap (if_match)");
  }
  return CheckMetadata(store.UriOf(key), options.metadata);
}

namespace {

Status CheckEtag(ObjectStore& store, std::string_view key, std::string_view etag) {
  LP_ASSIGN_OR_RETURN(auto info, store.Stat(key));
  if (!info) return Status::NotFound(store.UriOf(key) + ": not found");
  if (info->etag != etag) return ChangedSincePlanned(store, key, etag, info->etag);
  return Status::OK();
}

}  // namespace

Result<std::string> ObjectStore::ReadPinned(std::string_view key, std::string_view etag,
                                            ByteRange range) {
  LP_RETURN_IF_ERROR(CheckEtag(*this, key, etag));
  LP_ASSIGN_OR_RETURN(std::string data, Read(key, range));
  LP_RETURN_IF_ERROR(CheckEtag(*this, key, etag));
  return data;
}

Status ObjectStore::ReadToFilePinned(std::string_view key, std::string_view etag,
                                     const std::string& local_path) {
  LP_RETURN_IF_ERROR(CheckEtag(*this, key, etag));
  LP_RETURN_IF_ERROR(ReadToFile(key, local_path));
  Status st = CheckEtag(*this, key, etag);
  if (!st.ok()) ::unlink(local_path.c_str());
  return st;
}

Result<std::vector<std::string>> ObjectStore::DeletePinned(
    const std::vector<std::pair<std::string, std::string>>& keys_and_etags) {
  std::vector<std::string> doomed, changed;
  for (const auto& [key, etag] : keys_and_etags) {
    LP_ASSIGN_OR_RETURN(auto info, Stat(key));
    if (!info) continue;
    if (info->etag == etag) {
      doomed.push_back(key);
    } else {
      changed.push_back(key);
    }
  }
  if (!doomed.empty()) LP_RETURN_IF_ERROR(Delete(doomed));
  return changed;
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
