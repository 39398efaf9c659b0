// `lakepack validate`: checks export files against what their names say (rows, first/last
// timestamp and id) and against the row checksum written into them, and optionally a table's
// row count against the files' total (the safe-drop check).
#pragma once

#include <string>
#include <vector>

#include "lakepack/format.h"
#include "lakepack/options.h"
#include "lakepack/run.h"
#include "lakepack/status.h"

namespace lakepack {

struct ValidateOptions {
  std::vector<std::string> inputs;  // files or prefixes, local or s3://
  int parallel = 1;
  std::string results_file;  // empty: a new $TMPDIR/validation_results.XXXXXX.txt
  //! Files without lakepack's metadata are read with these order columns.
  std::string ts_column = "uploaded_date";
  std::string id_column = "data_item_id";
  //! --against: compare this table's row count with the files' total.
  std::string against_conninfo;
  std::string against_table;
  //! --stop-on-error (CONTINUE_ON_ERROR=0): no file is started after the first failure; the
  //! files not checked are reported as such (ValidateLine::checked false).
  bool stop_on_error = false;
  //! TEMP_DIR: where S3 objects are downloaded and kept, as TEMP_DIR/<bucket>/<key> with the
  //! object's ETag beside it (<file>.etag); a later run reads a kept copy whose ETag and size
  //! still match the object's instead of downloading it again. Empty: downloads go to the spool
  //! and are removed after the check.
  std::string temp_dir;
  //! --force (FORCE_DOWNLOAD=1): download every S3 object again, replacing a kept copy.
  bool force_download = false;
  //! Only the files whose URI falls in this shard (the same hash as every command's --shard).
  //! Not with --against, whose total needs every file.
  Shard shard;
  std::string spool_dir;
  EngineOptions engine;
};

struct ValidateLine {
  std::string path;
  bool pass = false;
  std::string reason;   // why it failed
  bool checked = true;  // false: not started, the run stopped at a failure (--stop-on-error)
};

//! A new, empty $TMPDIR/validation_results.XXXXXX.txt (the default --results), made now so
//! that its path can be shown before the run starts.
Result<std::string> NewResultsFile();

struct ValidateReport {
  std::vector<ValidateLine> lines;  // in input order; the --against check last
  int64_t failed = 0;
  int64_t not_checked = 0;  // --stop-on-error: files left after the first failure
  int64_t rows = 0;         // rows in the files that passed
  std::string results_file;
};

//! NotFound / InvalidArgument when an input names nothing (exit 2); otherwise every file's
//! verdict is in the report and in the results file (PASS|path, FAIL|path|reason).
Result<ValidateReport> Validate(const ValidateOptions& options, ProgressSink& progress);

}  // namespace lakepack
