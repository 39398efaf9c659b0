// lakepack pack: packs the files of a table (any mix of CSV, JSON lines and Parquet) into
// evenly sized output files `T_N.ext` / `T_S_N.ext`, topping up the latest output first,
// through the commit protocol, on any ObjectStore.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lakepack/format.h"
#include "lakepack/options.h"
#include "lakepack/run.h"
#include "lakepack/status.h"

namespace lakepack {

//! Outputs may stray this far (as a fraction) from the target size, all but the last.
inline constexpr double kPackSizeTolerance = 0.10;

struct PackOptions {
  std::string input_base;   // INPUT_BASE: inputs are under INPUT_BASE/T/
  std::string output_base;  // OUTPUT_BASE: outputs go to OUTPUT_BASE/T[/key=value]/
  std::string table;
  ByteSize target_size = ByteSize::Bytes(256LL * 1000 * 1000);  // more than 0
  PackFormat format = PackFormat::kSnappyParquet;
  //! Parquet outputs only; nullopt: snappy. kSnappyParquet takes snappy alone.
  std::optional<Compression> compression;
  std::string suffix;     // S in T_S_N.ext
  std::string partition;  // "key=value", or "k1=v1/k2=v2" for several (in that order); "": none
  std::string input_ext;  // only inputs with this extension; empty: any
  std::string input_partition_name;  // inputs under T/NAME=value/ report their value
  std::string schema_file;           // JSON: {"col": "TYPE", ...} or [{"name","type"}]
  bool delete_inputs = false;
  //! With schema_file: Parquet inputs are cast to it too (the seed's cast_parquet); without,
  //! a Parquet input whose types differ from the schema stops the run, naming file and column.
  bool cast_parquet = false;
  //! An input whose content changed since it was packed: without this the run stops; with it
  //! the input's old rows are removed from the outputs that hold them and its new content is
  //! packed.
  bool replace_changed = false;
  //! A local file for CSV / JSON-lines records that cannot be read; empty: such a record fails
  //! the run.
  std::string rejects_file;
  bool dry_run = false;
  Shard shard;  // --shard i/N (one task per series: the run does it or leaves it)
  std::string spool_dir;
  EngineOptions engine;
};

//! One output of the plan or of the run.
struct PackedOutput {
  std::string output;  // URI
  bool tops_up = false;
  int64_t rows = 0;
  int64_t bytes = 0;  // written bytes (dry run: an estimate)
};

struct PackResult {
  RunSummary summary;
  std::vector<std::string> inputs;          // URIs of the inputs packed (or to pack)
  std::vector<std::string> already_packed;  // URIs skipped: held by the outputs already
  //! Inputs whose content changed since they were packed, one line each (URI and what changed).
  std::vector<std::string> changed;
  std::vector<std::string> rewritten;         // URIs of outputs rewritten without replaced rows
  int64_t rejected = 0;                       // records diverted to the rejects file
  std::vector<std::string> partition_values;  // with input_partition_name
  std::string latest;                         // URI of the latest output before the run
  bool tops_up = false;
  std::vector<PackedOutput> outputs;
};

//! Runs (or with dry_run, plans) a pack. Usage errors are InvalidArgument.
Result<PackResult> Pack(const PackOptions& options, ProgressSink& progress);

}  // namespace lakepack
