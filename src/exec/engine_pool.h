// Format engines lent to parallel readers (footers, inspections): one reader at a time each,
// each with a temp directory of its own; closed with the pool.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lakepack/format.h"

namespace lakepack {

class EnginePool {
 public:
  //! Engine i gets `options` with temp_dir "<temp_base>i".
  EnginePool(EngineOptions options, std::string temp_base)
      : options_(std::move(options)), temp_base_(std::move(temp_base)) {}

  //! An idle engine, or a new one.
  Result<std::unique_ptr<FormatEngine>> Take();
  //! Hands an engine back for the next reader.
  void Give(std::unique_ptr<FormatEngine> engine);

 private:
  const EngineOptions options_;
  const std::string temp_base_;
  std::mutex mu_;
  std::vector<std::unique_ptr<FormatEngine>> idle_;
  int opened_ = 0;
};

}  // namespace lakepack
