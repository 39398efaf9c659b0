// Format engines lent to parallel readers (see engine_pool.h).
#include "exec/engine_pool.h"

#include <fmt/format.h>

namespace lakepack {

Result<std::unique_ptr<FormatEngine>> EnginePool::Take() {
  EngineOptions eo = options_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto engine = std::move(idle_.back());
      idle_.pop_back();
      return engine;
    }
    eo.temp_dir = fmt::format("{}{}", temp_base_, opened_++);
  }
  return FormatEngine::Open(eo);
}

void EnginePool::Give(std::unique_ptr<FormatEngine> engine) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(engine));
}

}  // namespace lakepack
