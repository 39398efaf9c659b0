// The roll-up planner (see rollup_plan.h).
#include "plan/rollup_plan.h"

#include "common/strings.h"

#include <fmt/format.h>

#include <map>
#include <unordered_map>

#include "commit/commit.h"

namespace lakepack {

RollupPlan PlanRollup(const std::vector<ObjectInfo>& listing, const Layout& layout,
                      const RollupPlanOptions& options) {
  RollupPlan plan;
  plan.grouping = options.grouping;
  const Granularity input_level = Finer(options.grouping);
  const int64_t range_start = options.start_day.StartSeconds();
  const int64_t range_end = options.end_day.EndSeconds();

  std::unordered_map<std::string, const ObjectInfo*> by_key;
  by_key.reserve(listing.size());
  for (const auto& o : listing) by_key.emplace(o.key, &o);

  std::map<std::string, RollupTask> tasks;  // by output key: ordered, deterministic
  for (const auto& obj : listing) {
    if (obj.key.rfind(kLakepackPrefix, 0) == 0) continue;  // lakepack's own objects
    auto m = layout.Match(obj.key, options.root_name);
    if (!m) {
      plan.stray.push_back(obj.key);
      continue;
    }
    if (m->level != input_level) continue;
    // Only files whose own period lies wholly inside the range: a file known only to its
    // directory's period counts as covering all of it.
    if (m->period.StartSeconds() < range_start || m->period.EndSeconds() > range_end) {
      plan.out_of_range++;
      continue;
    }
    Period out_period = m->period.Truncate(options.grouping);
    std::string out_key = layout.MergedKey(m->prefix, m->table, out_period);
    auto [it, fresh] = tasks.try_emplace(out_key);
    RollupTask& t = it->second;
    if (fresh) {
      t.table = m->table;
      t.prefix = m->prefix;
      t.period = out_period;
      t.output_key = out_key;
      if (auto tg = by_key.find(out_key); tg != by_key.end()) t.target = *tg->second;
    }
    t.inputs.push_back(obj);
    t.input_periods.push_back(m->period);
    t.input_bytes += obj.size;
  }
  for (auto& [key, t] : tasks) {
    // Stable row order: by source period, then by key.
    std::vector<size_t> order(t.inputs.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (!(t.input_periods[a] == t.input_periods[b]))
        return t.input_periods[a] < t.input_periods[b];
      return t.inputs[a].key < t.inputs[b].key;
    });
    RollupTask sorted = t;
    for (size_t i = 0; i < order.size(); i++) {
      sorted.inputs[i] = t.inputs[order[i]];
      sorted.input_periods[i] = t.input_periods[order[i]];
    }
    plan.tasks.push_back(std::move(sorted));
  }
  return plan;
}

}  // namespace lakepack
