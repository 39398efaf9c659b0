// MemoryStore (see memory_store.h).
#include "store/memory_store.h"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace lakepack {

namespace {

struct Object {
  std::string data;
  std::string etag;
  std::string tag;
  std::vector<std::pair<std::string, std::string>> metadata;
};

class MemoryStore final : public ObjectStore {
 public:
  explicit MemoryStore(std::string name) : name_(std::move(name)) {}

  std::string Uri() const override { return "mem://" + name_; }
  StoreCapabilities Capabilities() const override { return {}; }

  Result<ListPage> List(const ListOptions& options) override {
    std::lock_guard<std::mutex> lock(mu_);
    ListPage page;
    auto it = options.continuation_token.empty() ? objects_.lower_bound(options.prefix)
                                                 : objects_.upper_bound(options.continuation_token);
    int entries = 0;
    std::string last;  // the page's last entry: a key or a common prefix
    for (; it != objects_.end(); ++it) {
      if (it->first.compare(0, options.prefix.size(), options.prefix) != 0) break;
      // With a delimiter, keys holding it after the prefix roll up into one common prefix.
      std::string rolled;
      if (!options.delimiter.empty()) {
        size_t pos = it->first.find(options.delimiter, options.prefix.size());
        if (pos != std::string::npos) rolled = it->first.substr(0, pos + options.delimiter.size());
      }
      if (!rolled.empty() &&
          (rolled == last || (entries == 0 && !options.continuation_token.empty() &&
                              rolled <= options.continuation_token))) {
        continue;  // returned already, on this page or an earlier one
      }
      if (entries >= options.max_keys) {
        page.next_token = last;
        break;
      }
      entries++;
      if (rolled.empty()) {
        page.objects.push_back(Info(it->first, it->second, false));
        last = it->first;
      } else {
        page.common_prefixes.push_back(rolled);
        last = std::move(rolled);
      }
    }
    return page;
  }

  Result<std::optional<ObjectInfo>> Stat(std::string_view key) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    heads_++;
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return std::optional<ObjectInfo>();
    return std::optional<ObjectInfo>(Info(it->first, it->second, true));
  }

  Result<std::string> Read(std::string_view key, ByteRange range) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return Status::NotFound(UriOf(key) + ": no such object");
    return Slice(key, it->second.data, range);
  }

  Status ReadToFile(std::string_view key, const std::string& local_path, ByteRange range) override {
    LP_ASSIGN_OR_RETURN(std::string data, Read(key, range));
    return ToFile(local_path, data);
  }

  Result<std::string> ReadPinned(std::string_view key, std::string_view etag,
                                 ByteRange range) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(std::string(key));
    if (it == objects_.end()) return Status::NotFound(UriOf(key) + ": no such object");
    if (it->second.etag != etag) return Changed(key, etag, it->second.etag);
    return Slice(key, it->second.data, range);
  }

  Status ReadToFilePinned(std::string_view key, std::string_view etag,
                          const std::string& local_path) override {
    LP_ASSIGN_OR_RETURN(std::string data, ReadPinned(key, etag, {}));
    return ToFile(local_path, data);
  }

  Result<ObjectInfo> WriteFromFile(std::string_view key, const std::string& local_path,
                                   const PutOptions& options) override {
    std::ifstream f(local_path, std::ios::binary);
    if (!f) return Status::IOError(local_path + ": cannot be read");
    std::stringstream ss;
    ss << f.rdbuf();
    return Write(key, ss.str(), options);
  }

  Result<ObjectInfo> Write(std::string_view key, std::string_view data,
                           const PutOptions& options) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    std::string k(key);
    auto it = objects_.find(k);
    if (options.if_none_match && it != objects_.end()) {
      return Status::AlreadyExists(UriOf(key) + ": already exists");
    }
    if (!options.if_match.empty()) {
      if (it == objects_.end()) return Changed(key, options.if_match, "");
      if (it->second.etag != options.if_match) {
        return Changed(key, options.if_match, it->second.etag);
      }
    }
    Object& o = objects_[k];
    o.data = std::string(data);
    o.etag = fmt::format("m{}", ++version_);
    o.tag = options.tag;
    o.metadata = options.metadata;
    bytes_written_ += static_cast<int64_t>(data.size());
    puts_++;
    return Info(k, o, true);
  }

  Status Copy(std::string_view from_key, std::string_view to_key) override {
    LP_RETURN_IF_ERROR(ValidateKey(from_key));
    LP_RETURN_IF_ERROR(ValidateKey(to_key));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(std::string(from_key));
    if (it == objects_.end()) return Status::NotFound(UriOf(from_key) + ": no such object");
    Object copy = it->second;
    copy.etag = fmt::format("m{}", ++version_);
    objects_[std::string(to_key)] = std::move(copy);
    return Status::OK();
  }

  Status Delete(const std::vector<std::string>& keys) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& k : keys) objects_.erase(k);
    return Status::OK();
  }

  Result<std::vector<std::string>> DeletePinned(
      const std::vector<std::pair<std::string, std::string>>& keys_and_etags) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> changed;
    for (const auto& [k, etag] : keys_and_etags) {
      auto it = objects_.find(k);
      if (it == objects_.end()) continue;
      if (it->second.etag == etag) {
        objects_.erase(it);
      } else {
        changed.push_back(k);
      }
    }
    return changed;
  }

  std::map<std::string, int64_t> Counters() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return {{"PUT", puts_}, {"HEAD", heads_}, {"bytes_written", bytes_written_}};
  }

 private:
  ObjectInfo Info(const std::string& key, const Object& o, bool with_tag) const {
    ObjectInfo info;
    info.key = key;
    info.size = static_cast<int64_t>(o.data.size());
    info.etag = o.etag;
    if (with_tag) info.tag = o.tag, info.metadata = o.metadata;
    return info;
  }

  Status Changed(std::string_view key, std::string_view etag, const std::string& now) const {
    return Status::FailedPrecondition(
        fmt::format("{}: changed since it was planned (ETag {}, now {})", UriOf(key), etag,
                    now.empty() ? "absent" : now));
  }

  Result<std::string> Slice(std::string_view key, const std::string& data, ByteRange range) {
    if (range.whole()) return data;
    if (range.offset > static_cast<int64_t>(data.size())) {
      return Status::InvalidArgument(UriOf(key) + ": range starts past the end");
    }
    size_t len = range.length < 0 ? std::string::npos : static_cast<size_t>(range.length);
    return data.substr(static_cast<size_t>(range.offset), len);
  }

  static Status ToFile(const std::string& path, const std::string& data) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!f) return Status::IOError(path + ": cannot be written");
    return Status::OK();
  }

  const std::string name_;
  mutable std::mutex mu_;
  std::map<std::string, Object> objects_;
  int64_t version_ = 0;
  int64_t puts_ = 0;
  int64_t heads_ = 0;  // Stat calls (a HEAD on S3)
  int64_t bytes_written_ = 0;
};

}  // namespace

std::shared_ptr<ObjectStore> MakeMemoryStore(std::string name) {
  return std::make_shared<MemoryStore>(std::move(name));
}

}  // namespace lakepack
