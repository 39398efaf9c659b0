// The roll-up planner: a pure function from a listing to the tasks that merge the files of
// one level into files one level coarser. No I/O; deterministic for a given listing, so that
// --dry-run shows exactly what a run will do.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lakepack/object_store.h"
#include "layout/layout.h"

namespace lakepack {

struct RollupTask {
  std::string table;
  std::string prefix;
  Period period;  // the output's period (granularity = the grouping)
  std::string output_key;
  //! The merged file already at output_key, merged in first and then replaced.
  std::optional<ObjectInfo> target;
  //! Ordered by (period, key): the stable order rows keep.
  std::vector<ObjectInfo> inputs;
  std::vector<Period> input_periods;  // parallel to inputs
  int64_t input_bytes = 0;
};

struct RollupPlan {
  Granularity grouping = Granularity::kHour;
  std::vector<RollupTask> tasks;  // ordered by output key
  //! Keys that do not fit the layout (reported, left alone).
  std::vector<std::string> stray;
  //! Files of the input level outside [start, end] (left alone).
  int64_t out_of_range = 0;
};

struct RollupPlanOptions {
  Granularity grouping = Granularity::kHour;
  Period start_day;  // inclusive, granularity day
  Period end_day;    // inclusive, granularity day
  //! Names the table when keys have no prefix (the dataset root is one table).
  std::string root_name;
};

//! Plans one level: files of level Finer(grouping) grouped by (table prefix, period at the
//! grouping). Only inputs whose own period lies wholly inside [start_day, end_day] take part.
RollupPlan PlanRollup(const std::vector<ObjectInfo>& listing, const Layout& layout,
                      const RollupPlanOptions& options);

}  // namespace lakepack
