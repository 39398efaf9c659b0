// The roll-up planner (see rollup_plan.h).
#include "plan/rollup_plan.h"

#include "common/strings.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "commit/commit.h"

namespace lakepack {

RollupPlanner::RollupPlanner(const Layout& layout, RollupPlanOptions options, TaskFn emit)
    : layout_(layout),
      options_(std::move(options)),
      emit_(std::move(emit)),
      input_level_(Finer(options_.grouping)),
      range_start_(options_.start_day.StartSeconds()),
      range_end_(options_.end_day.EndSeconds()) {}

std::string RollupPlanner::Boundary(const std::string& prefix, const std::string& key,
                                    const std::string& listed) const {
  // Inputs placed by directories sit in time directories below the output's own directory;
  // --pattern may also place them in the table's directory, beside the time directories.
  std::string b =
      layout_.HasNamePattern() ? (prefix.empty() ? std::string() : prefix + "/") : DirOf(key);
  // The key that brought it must lie inside, or the group would be cut off at the next key;
  // a layout where it does not is planned at the end of the listing instead.
  if (listed.compare(0, b.size(), b) != 0) b.clear();
  return b;
}

Status RollupPlanner::Flush(Group& group) {
  for (auto& [key, period] : group.partial) {
    if (!group.tasks.count(key)) left_out_.emplace_back(key, period);
  }
  for (auto& [key, t] : group.tasks) {
    if (auto tg = group.targets.find(key); tg != group.targets.end()) t.target = tg->second;
    // Stable row order: by source period, then by key (the order they came in). Of periods
    // that start together, the coarser level's file first: the level-by-level cascade merges
    // the minutes of an hour into that hour's existing file after its rows.
    std::vector<size_t> order(t.inputs.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const Period &pa = t.input_periods[a], &pb = t.input_periods[b];
      const int64_t sa = pa.StartSeconds(), sb = pb.StartSeconds();
      if (sa != sb) return sa < sb;
      if (t.input_levels[a] != t.input_levels[b]) return t.input_levels[a] > t.input_levels[b];
      return pa < pb;
    });
    RollupTask sorted;
    sorted.table = std::move(t.table);
    sorted.prefix = std::move(t.prefix);
    sorted.period = t.period;
    sorted.output_key = key;
    sorted.target = std::move(t.target);
    sorted.input_bytes = t.input_bytes;
    sorted.inputs.reserve(order.size());
    sorted.input_periods.reserve(order.size());
    sorted.input_levels.reserve(order.size());
    for (size_t i : order) {
      sorted.inputs.push_back(std::move(t.inputs[i]));
      sorted.input_periods.push_back(t.input_periods[i]);
      sorted.input_levels.push_back(t.input_levels[i]);
    }
    LP_RETURN_IF_ERROR(emit_(std::move(sorted)));
  }
  return Status::OK();
}

Status RollupPlanner::Add(const ObjectInfo& obj) {
  if (!last_key_.empty() && obj.key <= last_key_) {
    return Status::InvalidArgument("rollup planner: listing out of order at '" + obj.key +
                                   "' after '" + last_key_ + "'");
  }
  last_key_ = obj.key;
  // Groups whose boundary the listing has left are complete (keys ascend).
  for (auto it = open_.begin(); it != open_.end();) {
    if (obj.key.compare(0, it->first.size(), it->first) == 0) {
      ++it;
      continue;
    }
    Status st = Flush(it->second);
    it = open_.erase(it);
    LP_RETURN_IF_ERROR(st);
  }
  if (obj.key.rfind(kLakepackPrefix, 0) == 0) return Status::OK();  // lakepack's own objects
  auto m = layout_.Match(obj.key, options_.root_name);
  if (!m) {
    stray_.push_back(obj.key);
    return Status::OK();
  }
  // Only files whose own period lies wholly inside the range: a file known only to its
  // directory's period counts as covering all of it.
  auto in_range = [&](const Period& p) {
    return p.StartSeconds() >= range_start_ && p.EndSeconds() <= range_end_;
  };
  const bool input_level = options_.direct ? m->level <= input_level_ : m->level == input_level_;
  const bool target_level =
      m->level == options_.grouping || (options_.direct && m->level > Granularity::kMinute &&
                                        m->level < options_.grouping && !in_range(m->period));
  // Overlaps the range without lying inside it: a file the user may expect merged.
  auto partly = [&](const Period& p) {
    return !in_range(p) && p.StartSeconds() < range_end_ && p.EndSeconds() > range_start_;
  };
  if (target_level) {
    // Perhaps the merged file a task of this group merges into first.
    Group& group = open_[Boundary(m->prefix, obj.key, obj.key)];
    group.targets.emplace(obj.key, obj);
    if (m->level < options_.grouping && partly(m->period))
      group.partial.emplace(obj.key, m->period);
    return Status::OK();
  }
  if (!input_level) return Status::OK();
  if (!in_range(m->period)) {
    out_of_range_++;
    if (partly(m->period)) left_out_.emplace_back(obj.key, m->period);
    return Status::OK();
  }
  // Up one level at a time while the period reached is inside the range, as the levels of a
  // cascade would take it; one level without `direct`.
  Granularity g = options_.direct ? Coarser(m->level) : options_.grouping;
  while (g < options_.grouping && in_range(m->period.Truncate(g))) g = Coarser(g);
  Period out_period = m->period.Truncate(g);
  std::string out_key = layout_.MergedKey(m->prefix, m->table, out_period);
  Group& group = open_[Boundary(m->prefix, out_key, obj.key)];
  auto [it, fresh] = group.tasks.try_emplace(out_key);
  RollupTask& t = it->second;
  if (fresh) {
    t.table = m->table;
    t.prefix = m->prefix;
    t.period = out_period;
    t.output_key = out_key;
  }
  t.inputs.push_back(obj);
  t.input_periods.push_back(m->period);
  t.input_levels.push_back(m->level);
  t.input_bytes += obj.size;
  return Status::OK();
}

Status RollupPlanner::Finish() {
  Status first;
  for (auto& [boundary, group] : open_) {
    Status st = Flush(group);
    if (first.ok()) first = st;
  }
  open_.clear();
  return first;
}

RollupPlan PlanRollup(const std::vector<ObjectInfo>& listing, const Layout& layout,
                      const RollupPlanOptions& options) {
  RollupPlan plan;
  plan.grouping = options.grouping;
  std::vector<const ObjectInfo*> sorted;
  sorted.reserve(listing.size());
  for (const auto& o : listing) sorted.push_back(&o);
  std::sort(sorted.begin(), sorted.end(),
            [](const ObjectInfo* a, const ObjectInfo* b) { return a->key < b->key; });
  RollupPlanner planner(layout, options, [&](RollupTask t) {
    plan.tasks.push_back(std::move(t));
    return Status::OK();
  });
  for (const ObjectInfo* o : sorted) {
    if (!planner.Add(*o).ok()) continue;  // only a repeated key: listings hold each once
  }
  (void)planner.Finish();
  std::sort(plan.tasks.begin(), plan.tasks.end(),
            [](const RollupTask& a, const RollupTask& b) { return a.output_key < b.output_key; });
  plan.stray = planner.stray();
  plan.out_of_range = planner.out_of_range();
  plan.left_out = planner.left_out();
  return plan;
}

}  // namespace lakepack
