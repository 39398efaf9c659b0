// Avro records through avro-c (Debian's libavro-dev, >= 1.11): concatenating container files
// into one (copying blocks when the schema and codec allow, else decoding every record and
// resolving it into the output schema), inspecting a file, and Avro to JSON lines for convert.
// avro_codec.cc is the only file that includes avro.h; containers are read and written by
// lakepack's own layer (avro_container.h), so every output gets lakepack's random sync marker.
//
// Thread-safety: the functions may run on several threads at once, each on its own files.
// avro-c keeps its last error text in one process-wide buffer, so when two threads fail at the
// same moment the avro-c detail at the end of a message may be the other's; the lakepack part
// (file, block offset, record, field) is always right.
//
// Files are read with lakepack's block reader and decoded block by block from memory, not with
// avro_file_reader: so the end of a file is where the last block's sync marker ends, and
// anything else (a cut, a short block, a record count that disagrees with the bytes) is an error
// (research.md: avro_file_reader_read_value returns EOF at a clean end and EILSEQ on a cut, and
// older avro-c took both for EOF).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "format/avro_container.h"
#include "lakepack/status.h"

namespace lakepack {

//! Target uncompressed size of a block the codec layer encodes. A record larger than this goes
//! in a block of its own (lakepack's writer has no size limit per block, unlike avro-c's).
inline constexpr int64_t kAvroDefaultBlockBytes = 1 << 20;

struct AvroSource {
  std::string path;          // a local file
  std::string display_name;  // what messages call it (a URI, a key); empty: `path`
};

struct AvroWriteSpec {
  std::string path;         // the local file to create (create-only); absent after a failure
  std::string schema_json;  // the output's writer schema, stored as given
  AvroCodec codec = AvroCodec::kSnappy;
  AvroMetadata metadata;  // user metadata for the header (keys must not start with "avro.")
  int64_t block_bytes = kAvroDefaultBlockBytes;
  //! Fail (InvalidArgument naming the input and the field) rather than drop a top-level field
  //! of an input that the output schema lacks.
  bool keep_all_fields = false;
  //! What messages call the output schema's origin (a file, a URI); empty: `path`.
  std::string schema_source;
};

//! What ConcatAvro did with each input (optional, for reports and provenance).
struct AvroConcatStats {
  struct Input {
    int64_t records = 0;
    int64_t blocks = 0;
    bool copied = false;  // blocks copied as stored; false: records decoded and re-encoded
  };
  std::vector<Input> inputs;  // in the order of the inputs
};

//! Writes every record of `inputs`, in order, to a new container file `out.path`. An input whose
//! schema has the output's Parsing Canonical Form and whose codec is the output's has its
//! blocks copied as stored (each checked: sync marker, snappy CRC, deflate inflates); any other
//! input has every record decoded and resolved into the output schema by field name (fields the
//! output lacks are dropped, output fields the input lacks take their default, types promote
//! as the spec allows; with out.keep_all_fields an input field the output lacks fails it
//! instead), then encoded into blocks of about `out.block_bytes`. Inputs are opened and copied
//! blocks checked a window ahead by a few threads (memory: at most 64 MiB of blocks ahead). An
//! input whose schema does not resolve fails with InvalidArgument naming the input and the field; a
//! corrupt or truncated input with Corruption naming it and the byte offset. Returns the records
//! written.
Result<int64_t> ConcatAvro(const std::vector<AvroSource>& inputs, const AvroWriteSpec& out,
                           AvroConcatStats* stats = nullptr);

struct AvroFileInfo {
  std::string schema_json;
  std::string codec;
  AvroMetadata metadata;  // the user's keys
  std::vector<AvroField> fields;
  int64_t blocks = 0;
  int64_t records = 0;
  int64_t size_bytes = 0;
  std::string sync_hex;
};

//! Describes a container file, decoding every record (so a corrupt record shows): Corruption
//! naming `path`, the block's byte offset and the record.
Result<AvroFileInfo> InspectAvro(const std::string& path);

//! Writes every record of `path` to `out_jsonl_path` (created, overwritten if present), one JSON
//! object per line: a record's fields by name (a schema that is not a record: {"value": v});
//! unions as their plain value; bytes and fixed as strings of the code points 0-255 (the Avro
//! JSON encoding's convention); enums as their symbol; NaN and infinities as null (JSON has
//! none). Returns the records written; on failure `out_jsonl_path` does not exist.
Result<int64_t> AvroToJsonLines(const std::string& path, const std::string& out_jsonl_path);

}  // namespace lakepack
