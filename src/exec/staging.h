// Staging: bringing objects to local files for the format engine, and taking finished local
// files to their store. Local stores are used in place; remote objects are downloaded.
#pragma once

#include <string>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

//! A local path holding the bytes of `key`: the store's own file when it has one, else a
//! download into `spool_dir` (named after the key's last segment). NotFound names the object.
Result<std::string> StageForReading(ObjectStore& store, const std::string& key,
                                    const std::string& spool_dir);

//! Publishes a finished local file as `key`, atomically, moving it when the store can.
Result<ObjectInfo> Publish(ObjectStore& store, const std::string& key,
                           const std::string& local_path);

}  // namespace lakepack
