// Streaming listings (see listing.h).
#include "store/listing.h"

#include <string_view>
#include <utility>
#include <vector>

namespace lakepack {

Status ForEachPage(ObjectStore& store, ListOptions options,
                   const std::function<Status(ListPage&)>& page_fn) {
  options.continuation_token.clear();
  while (true) {
    LP_ASSIGN_OR_RETURN(ListPage page, store.List(options));
    LP_RETURN_IF_ERROR(page_fn(page));
    if (page.next_token.empty()) return Status::OK();
    // A backend that hands back the token it was given would loop forever; stop it here.
    if (page.next_token == options.continuation_token) {
      return Status::IOError(store.Uri() + ": listing of prefix '" + options.prefix +
                             "' returned the same continuation token twice");
    }
    options.continuation_token = std::move(page.next_token);
  }
}

namespace {

// The walk on a store whose '/' listings may leave prefixes out: one flat listing of `root`,
// each object kept or dropped as the walk would have (step asked once per directory).
Status WalkFlat(ObjectStore& store, const std::string& root,
                const std::function<WalkStep(const std::string& dir)>& step,
                const std::function<Status(ObjectInfo&)>& object_fn) {
  // The directories of the last key, outermost first, with step's answer for each: keys come
  // sorted, so a directory's keys are contiguous and each is asked about once.
  std::vector<std::pair<std::string, WalkStep>> open;
  ListOptions all;
  all.prefix = root;
  return ForEachPage(store, all, [&](ListPage& page) -> Status {
    for (ObjectInfo& info : page.objects) {
      bool keep = true;
      size_t depth = 0;
      for (size_t slash = info.key.find('/', root.size()); slash != std::string::npos;
           slash = info.key.find('/', slash + 1), depth++) {
        std::string_view dir(info.key.data(), slash + 1);
        if (depth >= open.size() || open[depth].first != dir) {
          open.resize(depth);
          std::string d(dir);
          WalkStep answer = step(d);
          open.emplace_back(std::move(d), answer);
        }
        if (open[depth].second == WalkStep::kWalk) continue;
        keep = open[depth].second == WalkStep::kAll;
        break;
      }
      if (keep) LP_RETURN_IF_ERROR(object_fn(info));
    }
    return Status::OK();
  });
}

// The walk on a store whose '/' listings are complete: one level at a time.
Status WalkLevels(ObjectStore& store, const std::string& root,
                  const std::function<WalkStep(const std::string& dir)>& step,
                  const std::function<Status(ObjectInfo&)>& object_fn) {
  ListOptions one_level;
  one_level.prefix = root;
  one_level.delimiter = "/";
  return ForEachPage(store, one_level, [&](ListPage& page) -> Status {
    // A page's objects and prefixes are each sorted; merged, they are in key order, and every
    // key below a prefix sorts right where the prefix does.
    size_t o = 0, p = 0;
    while (o < page.objects.size() || p < page.common_prefixes.size()) {
      if (p == page.common_prefixes.size() ||
          (o < page.objects.size() && page.objects[o].key < page.common_prefixes[p])) {
        LP_RETURN_IF_ERROR(object_fn(page.objects[o++]));
        continue;
      }
      const std::string& dir = page.common_prefixes[p++];
      switch (step(dir)) {
        case WalkStep::kSkip:
          break;
        case WalkStep::kWalk:
          LP_RETURN_IF_ERROR(WalkLevels(store, dir, step, object_fn));
          break;
        case WalkStep::kAll: {
          ListOptions all;
          all.prefix = dir;
          LP_RETURN_IF_ERROR(ForEachPage(store, all, [&](ListPage& inner) -> Status {
            for (ObjectInfo& info : inner.objects) LP_RETURN_IF_ERROR(object_fn(info));
            return Status::OK();
          }));
          break;
        }
      }
    }
    return Status::OK();
  });
}

}  // namespace

Status WalkStore(ObjectStore& store, const std::string& root,
                 const std::function<WalkStep(const std::string& dir)>& step,
                 const std::function<Status(ObjectInfo&)>& object_fn) {
  // Asked once per walk, not once per directory.
  if (!store.Capabilities().delimiter_listing_reliable) {
    return WalkFlat(store, root, step, object_fn);
  }
  return WalkLevels(store, root, step, object_fn);
}

}  // namespace lakepack
