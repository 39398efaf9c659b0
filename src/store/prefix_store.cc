// PrefixStore: maps keys to "<prefix>/<key>" of a base store and back, nothing more.
#include "store/prefix_store.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store_util.h"

namespace lakepack {

namespace {

class PrefixStore final : public ObjectStore {
 public:
  // REQUIRES: prefix non-empty and ending in '/'.
  PrefixStore(std::shared_ptr<ObjectStore> base, std::string prefix)
      : base_(std::move(base)), prefix_(std::move(prefix)) {}

  std::string Uri() const override {
    // The prefix without its trailing '/', as a user would type the location.
    return base_->UriOf(std::string_view(prefix_).substr(0, prefix_.size() - 1));
  }

  StoreCapabilities Capabilities() const override { return base_->Capabilities(); }

  Result<ListPage> List(const ListOptions& options) override {
    ListOptions inner = options;
    inner.prefix = prefix_ + options.prefix;
    LP_ASSIGN_OR_RETURN(ListPage page, base_->List(inner));
    // The base only answers keys under inner.prefix, so every key carries prefix_; stripping
    // it keeps the base's order, which is also ours.
    for (ObjectInfo& info : page.objects) info.key = Strip(info.key);
    for (std::string& common : page.common_prefixes) common = Strip(common);
    return page;
  }

  Result<std::optional<ObjectInfo>> Stat(std::string_view key) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, base_->Stat(Full(key)));
    if (info) info->key = std::string(key);
    return info;
  }

  Result<std::optional<std::string>> CurrentEtag(std::string_view key) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    return base_->CurrentEtag(Full(key));
  }

  Result<std::string> Read(std::string_view key, ByteRange range) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    return base_->Read(Full(key), range);
  }

  Status ReadToFile(std::string_view key, const std::string& local_path, ByteRange range) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    return base_->ReadToFile(Full(key), local_path, range);
  }

  Result<ObjectInfo> WriteFromFile(std::string_view key, const std::string& local_path,
                                   const PutOptions& options) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    LP_ASSIGN_OR_RETURN(ObjectInfo info, base_->WriteFromFile(Full(key), local_path, options));
    info.key = std::string(key);
    return info;
  }

  Result<ObjectInfo> Write(std::string_view key, std::string_view data,
                           const PutOptions& options) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    LP_ASSIGN_OR_RETURN(ObjectInfo info, base_->Write(Full(key), data, options));
    info.key = std::string(key);
    return info;
  }

  Status Copy(std::string_view from_key, std::string_view to_key) override {
    LP_RETURN_IF_ERROR(ValidateKey(from_key));
    LP_RETURN_IF_ERROR(ValidateKey(to_key));
    return base_->Copy(Full(from_key), Full(to_key));
  }

  Status Delete(const std::vector<std::string>& keys) override {
    std::vector<std::string> full;
    full.reserve(keys.size());
    for (const std::string& key : keys) {
      LP_RETURN_IF_ERROR(ValidateKey(key));
      full.push_back(Full(key));
    }
    return base_->Delete(full);
  }

  Result<std::string> ReadPinned(std::string_view key, std::string_view etag,
                                 ByteRange range) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    return base_->ReadPinned(Full(key), etag, range);
  }

  Status ReadToFilePinned(std::string_view key, std::string_view etag,
                          const std::string& local_path) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    return base_->ReadToFilePinned(Full(key), etag, local_path);
  }

  Result<std::vector<std::string>> DeletePinned(
      const std::vector<std::pair<std::string, std::string>>& keys_and_etags) override {
    std::vector<std::pair<std::string, std::string>> full;
    full.reserve(keys_and_etags.size());
    for (const auto& [key, etag] : keys_and_etags) {
      LP_RETURN_IF_ERROR(ValidateKey(key));
      full.emplace_back(Full(key), etag);
    }
    LP_ASSIGN_OR_RETURN(std::vector<std::string> changed, base_->DeletePinned(full));
    for (std::string& key : changed) key = Strip(key);
    return changed;
  }

  Result<std::unique_ptr<FollowingUpload>> BeginFollowingUpload(
      std::string_view key, const std::string& local_path, int64_t expected_size,
      const PutOptions& options) override {
    LP_RETURN_IF_ERROR(ValidateKey(key));
    LP_ASSIGN_OR_RETURN(auto upload,
                        base_->BeginFollowingUpload(Full(key), local_path, expected_size, options));
    if (!upload) return upload;
    return ReportKeyAs(std::move(upload), std::string(key));
  }

  Result<std::vector<PendingUpload>> ListPendingUploads(std::string_view prefix) override {
    LP_ASSIGN_OR_RETURN(std::vector<PendingUpload> uploads,
                        base_->ListPendingUploads(prefix_ + std::string(prefix)));
    for (PendingUpload& upload : uploads) upload.key = Strip(upload.key);
    return uploads;
  }

  Status AbortPendingUpload(const PendingUpload& upload) override {
    LP_RETURN_IF_ERROR(ValidateKey(upload.key));
    PendingUpload full = upload;
    full.key = Full(upload.key);
    return base_->AbortPendingUpload(full);
  }

  std::map<std::string, int64_t> Counters() const override { return base_->Counters(); }
  const void* CounterOwner() const override { return base_->CounterOwner(); }

  std::optional<std::string> LocalPath(std::string_view key) const override {
    if (!ValidateKey(key).ok()) return std::nullopt;
    return base_->LocalPath(Full(key));
  }

 private:
  std::string Full(std::string_view key) const {
    std::string full = prefix_;
    full += key;
    return full;
  }

  std::string Strip(const std::string& full) const {
    if (full.compare(0, prefix_.size(), prefix_) == 0) return full.substr(prefix_.size());
    return full;  // not expected from a correct base; left whole so the anomaly is visible
  }

  const std::shared_ptr<ObjectStore> base_;
  const std::string prefix_;
};

}  // namespace

std::shared_ptr<ObjectStore> MakePrefixStore(std::shared_ptr<ObjectStore> base,
                                             std::string prefix) {
  size_t start = prefix.find_first_not_of('/');
  if (start == std::string::npos) return base;  // "" or only slashes: the base itself
  prefix.erase(0, start);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  prefix += '/';
  return std::make_shared<PrefixStore>(std::move(base), std::move(prefix));
}

}  // namespace lakepack
