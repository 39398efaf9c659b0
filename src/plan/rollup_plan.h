// The roll-up planner: a pure function from a listing to the tasks that merge the files of
// one level into files one level coarser. No I/O; deterministic for a given listing, so that
// --dry-run shows exactly what a run will do.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
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
  std::vector<Period> input_periods;      // parallel to inputs
  std::vector<Granularity> input_levels;  // parallel to inputs: each one's level in the layout
  int64_t input_bytes = 0;
};

struct RollupPlan {
  Granularity grouping = Granularity::kHour;
  std::vector<RollupTask> tasks;  // ordered by output key
  //! Keys that do not fit the layout (reported, left alone).
  std::vector<std::string> stray;
  //! Files of the input level outside [start, end] (left alone).
  int64_t out_of_range = 0;
  //! Of those, the ones whose period overlaps the range without lying inside it (a month file
  //! for a range that starts on the 15th): left alone too, and named (see LeftOut).
  std::vector<std::pair<std::string, Period>> left_out;
};

struct RollupPlanOptions {
  Granularity grouping = Granularity::kHour;
  Period start_day;  // inclusive, granularity day
  Period end_day;    // inclusive, granularity day
  //! Names the table when keys have no prefix (the dataset root is one table).
  std::string root_name;
  //! --cascade in one level: every file from minutes up to the level below the grouping
  //! goes straight into the file the level-by-level cascade would merge it into in the end
  //! (see RollupPlanner), so that no intermediate file is written and read back.
  bool direct = false;
};

//! Plans one level while a listing streams past: files of level Finer(grouping) grouped by
//! (table prefix, period at the grouping); only inputs whose own period lies wholly inside
//! [start_day, end_day] take part. With `direct`, the inputs are the files of every level from
//! minute to Finer(grouping), and each goes where the level-by-level cascade (hour, day, ...)
//! would take it: up one level at a time while the period it reached lies inside the range,
//! at most to the grouping. A file of a level above minute whose period is outside the range
//! is not an input but may be a target, as the grouping's files are. Objects come in ascending key
//! order (Add); a task goes to `emit` as soon as the listing has left every key that could belong
//! to it: its output's directory (which holds the output and every input directory of its period),
//! or with
//! --pattern, whose names may place inputs beside the time directories, its table's
//! directory. What the planner holds is the tasks of the directories the listing is in, not
//! the listing. Tasks of one directory come out in output key order.
class RollupPlanner {
 public:
  using TaskFn = std::function<Status(RollupTask)>;
  RollupPlanner(const Layout& layout, RollupPlanOptions options, TaskFn emit);

  //! The next object of the listing. InvalidArgument when keys do not ascend; else what
  //! `emit` returned for a task completed by this key.
  Status Add(const ObjectInfo& obj);
  //! The listing ended: emits the tasks still open.
  Status Finish();

  //! Keys that do not fit the layout so far (reported, left alone).
  const std::vector<std::string>& stray() const { return stray_; }
  //! Files of the input level outside [start, end] so far.
  int64_t out_of_range() const { return out_of_range_; }
  //! Files left out so far because their period only overlaps the range (a real file the
  //! grouping would take if the range covered its whole period), with that period. With
  //! `direct`, also the files above minutes that no task of theirs merges into.
  const std::vector<std::pair<std::string, Period>>& left_out() const { return left_out_; }

 private:
  // The tasks and possible targets whose keys all start with one boundary.
  struct Group {
    std::map<std::string, RollupTask> tasks;    // by output key
    std::map<std::string, ObjectInfo> targets;  // files of the output level, by key
    //! Targets of a level below the grouping (direct): files whose period only overlaps the
    //! range, left out unless a task merges into them.
    std::map<std::string, Period> partial;
  };
  // The prefix every key of the group of output `key` starts with (`listed`: the key at hand).
  std::string Boundary(const std::string& prefix, const std::string& key,
                       const std::string& listed) const;
  Status Flush(Group& group);

  const Layout& layout_;
  const RollupPlanOptions options_;
  const TaskFn emit_;
  const Granularity input_level_;
  const int64_t range_start_, range_end_;
  std::map<std::string, Group> open_;  // by boundary; the open ones are prefixes of the last key
  std::string last_key_;
  std::vector<std::string> stray_;
  int64_t out_of_range_ = 0;
  std::vector<std::pair<std::string, Period>> left_out_;
};

//! Plans one level of a whole listing (any order) with RollupPlanner; tasks ordered by output
//! key.
RollupPlan PlanRollup(const std::vector<ObjectInfo>& listing, const Layout& layout,
                      const RollupPlanOptions& options);

}  // namespace lakepack
