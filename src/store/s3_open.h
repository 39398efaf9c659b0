// The seam between the URI layer and the S3 store: uri.cc opens s3:// locations through this
// one function, so the S3 implementation can live (or be left out) in its own files.
#pragma once

#include <memory>

#include "lakepack/object_store.h"
#include "lakepack/status.h"
#include "lakepack/uri.h"

namespace lakepack {

//! Opens the S3 store for `loc` (kind kS3: root is the bucket, path the key prefix, possibly
//! empty or ending in '/'). Endpoint, region and credentials come from the environment.
Result<std::shared_ptr<ObjectStore>> OpenS3Store(const Location& loc, const StoreOptions& options);

}  // namespace lakepack
