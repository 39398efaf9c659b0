// The seam between the URI layer and the S3 store: uri.cc opens s3:// locations through this
// one function, so the S3 implementation can live (or be left out) in its own files.
#pragma once

#include <memory>

#include "lakepack/object_store.h"
#include "lakepack/status.h"
#include "lakepack/uri.h"

namespace lakepack {

//! S3's limit on a key: 1,024 bytes of UTF-8. Longer keys are refused before any request.
inline constexpr size_t kMaxS3KeyBytes = 1024;

//! InvalidArgument naming `uri` when `full_key` (the key as sent, prefix included) is longer
//! than kMaxS3KeyBytes.
Status CheckS3KeyLength(std::string_view uri, std::string_view full_key);

//! Opens the S3 store for `loc` (kind kS3: root is the bucket, path the key prefix, possibly
//! empty or ending in '/'). Endpoint, region and credentials come from the environment.
Result<std::shared_ptr<ObjectStore>> OpenS3Store(const Location& loc, const StoreOptions& options);

}  // namespace lakepack
