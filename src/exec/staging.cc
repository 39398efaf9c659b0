// Staging of inputs and outputs between stores and local files (see staging.h).
#include "exec/staging.h"

#include <atomic>

#include "common/strings.h"

namespace lakepack {

Result<std::string> StageForReading(ObjectStore& store, const std::string& key,
                                    const std::string& spool_dir) {
  LP_ASSIGN_OR_RETURN(auto info, store.Stat(key));
  if (!info) return Status::NotFound(store.UriOf(key) + ": no such file or object");
  if (auto local = store.LocalPath(key)) return *local;
  static std::atomic<int> counter{0};
  std::string path = spool_dir + "/in" + std::to_string(counter++) + "-" + BaseName(key);
  LP_RETURN_IF_ERROR(store.ReadToFile(key, path));
  return path;
}

Result<ObjectInfo> Publish(ObjectStore& store, const std::string& key,
                           const std::string& local_path) {
  PutOptions put;
  put.consume_source = true;
  return store.WriteFromFile(key, local_path, put);
}

}  // namespace lakepack
