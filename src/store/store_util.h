// Helpers the ObjectStore implementations share (not part of the public API).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

//! The FailedPrecondition of a pinned operation whose object moved on:
//! "<uri>: changed since it was planned (ETag <etag>, now <now>)"; an empty `now` reads
//! "now absent".
Status ChangedSincePlanned(const ObjectStore& store, std::string_view key, std::string_view etag,
                           std::string_view now);

//! The same, for an object named by its full URI (stores that build messages themselves).
Status ChangedSincePlannedAt(std::string_view uri, std::string_view etag, std::string_view now);

//! The InvalidArgument for a PutOptions that asks for both if_match and if_none_match, or
//! OK.
Status CheckPutConditions(const ObjectStore& store, std::string_view key,
                          const PutOptions& options);

//! `upload`, whose Complete names the object `key` (a store that passes the write on to
//! another under a longer key reports its own). Null stays null.
std::unique_ptr<FollowingUpload> ReportKeyAs(std::unique_ptr<FollowingUpload> upload,
                                             std::string key);

}  // namespace lakepack
