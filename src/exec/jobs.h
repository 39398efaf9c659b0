// The jobs of the commands that change a lake, each a Job for RunJob (exec/job.h). The command
// functions (Rollup, Pack, Export) make one and run it; unit tests make one over a
// MemoryStore to check its MakePlan without I/O.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "exec/job.h"
#include "lakepack/export.h"
#include "lakepack/pack.h"
#include "lakepack/rollup.h"

namespace lakepack {

//! Opens the store at a URI; `create_root`: a local root directory is created if missing.
using StoreOpener =
    std::function<Result<std::shared_ptr<ObjectStore>>(const std::string& uri, bool create_root)>;

//! OpenStore, as a StoreOpener.
Result<std::shared_ptr<ObjectStore>> OpenStoreFor(const std::string& uri, bool create_root);

//! Usage errors (InvalidArgument naming the flag) first, then the lake is opened with `open`.
//! `result` receives the dry run's plan.
Result<std::unique_ptr<Job>> NewRollupJob(const RollupOptions& options, const StoreOpener& open,
                                          RollupResult& result);

//! Usage errors first, then the stores are opened with `open`. `result` receives the plan and
//! the outputs; RunJob lists a failed task in the summary, and Pack returns it as its error.
Result<std::unique_ptr<Job>> NewPackJob(const PackOptions& options, const StoreOpener& open,
                                        ProgressSink& progress, PackResult& result);

//! One task per table. `outbox`: a local store files wait in until their upload to `store` is
//! verified (ExportOptions::outbox); null: files are published to `store` directly.
std::unique_ptr<Job> NewExportJob(const ExportOptions& options, std::shared_ptr<ObjectStore> store,
                                  std::shared_ptr<ObjectStore> outbox, ProgressSink& progress);

}  // namespace lakepack
