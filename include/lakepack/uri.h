// Locations: what a user types on the command line ("s3://bucket/a/b", "file:///x", "./x")
// parsed into a store root and a key, and the one function that opens a store for a URI.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

enum class StoreKind { kLocal, kS3 };

struct Location {
  StoreKind kind = StoreKind::kLocal;
  //! kLocal: an absolute, normalised directory path. kS3: the bucket name.
  std::string root;
  //! The path below the root, '/'-separated, no leading '/' (may be empty).
  std::string path;
  //! The text the user gave, for messages.
  std::string original;
};

//! Parses "s3://bucket[/path]", "file:///abs/path", "file://relative" or a bare path (made
//! absolute against the working directory). For local locations `root` is "/" and `path`
//! the rest, so that the same Location can name a directory or a file.
Result<Location> ParseLocation(std::string_view uri);

//! Splits a location naming one object into (its parent as a store root, its name as key):
//! "/data/a/b.csv" → root "/data/a", key "b.csv"; "s3://bkt/x/y.csv" → bucket "bkt", prefix
//! "x", key "y.csv". InvalidArgument when the location names no object (e.g. "s3://bkt").
struct ObjectRef {
  std::shared_ptr<ObjectStore> store;
  std::string key;
};

//! Options every store opener may use. S3-specific settings come from the environment.
struct StoreOptions {
  //! Create a local root directory that does not exist yet (for outputs).
  bool create_local_root = false;
  //! Create an S3 bucket that does not exist yet (lakepack watch; the seed creates it).
  bool create_bucket = false;
};

//! Opens the store whose root is the location (a local directory, or bucket/prefix).
Result<std::shared_ptr<ObjectStore>> OpenStore(std::string_view uri,
                                               const StoreOptions& options = {});

//! Opens the parent of a single-object URI and names the object inside it.
Result<ObjectRef> OpenObject(std::string_view uri, const StoreOptions& options = {});

}  // namespace lakepack
