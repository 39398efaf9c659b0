// Listings that stream: a store's pages handed on one at a time, and a walk that lists only
// the directories a caller wants, so that what a listing holds is bounded by a page and not by
// the prefix (issue 13).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "lakepack/object_store.h"
#include "lakepack/status.h"

namespace lakepack {

//! Calls `page_fn` with each page of the listing `options` describes (continuation_token is
//! overwritten), in order, until the last page or until `page_fn` fails; nothing is kept
//! between pages. A backend that hands back the token it was given fails with IOError.
Status ForEachPage(ObjectStore& store, ListOptions options,
                   const std::function<Status(ListPage&)>& page_fn);

//! What WalkStore does with one directory ("a/b/", a common prefix of a '/' listing).
enum class WalkStep {
  kSkip,  // not listed at all
  kWalk,  // listed one level ('/' delimiter): its objects, then WalkStore asks about its dirs
  kAll,   // every object below it, in one listing without a delimiter
};

//! Lists `root` ("" or ending in '/') one level at a time, asking `step` about each directory it
//! meets, and calls `object_fn` with every object listed, in ascending key order across the
//! whole walk (a directory's objects and subdirectories are interleaved as their keys sort).
//! Memory: one page per directory level open. On a store whose '/' listings may leave prefixes
//! out (StoreCapabilities::delimiter_listing_reliable), one flat listing of `root` instead,
//! filtered the same way: the same objects in the same order, at the cost of listing all.
Status WalkStore(ObjectStore& store, const std::string& root,
                 const std::function<WalkStep(const std::string& dir)>& step,
                 const std::function<Status(ObjectInfo&)>& object_fn);

}  // namespace lakepack
