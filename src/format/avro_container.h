// lakepack's own layer over the Avro object container format (the Avro spec's "Object Container
// Files"): the header, block iteration with every sync marker and codec checksum checked, and a
// writer that lays blocks down as given, so blocks can be copied between files without decoding
// their records. No avro-c here (avro-c has no block API); decoding records is avro_codec.h's.
//
// Thread-safety: readers and writers are used by one thread at a time; the free functions are
// safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lakepack/status.h"

namespace lakepack {

using AvroSync = std::array<uint8_t, 16>;
using AvroMetadata = std::vector<std::pair<std::string, std::string>>;

//! The codecs lakepack reads and writes (the spec's "null", "deflate", "snappy").
enum class AvroCodec { kNull, kDeflate, kSnappy };

//! "null", "deflate", "snappy".
std::string_view AvroCodecName(AvroCodec codec);
//! Accepts null (and the empty string: the spec's absent avro.codec), deflate, snappy. Others
//! (bzip2, xz, zstandard, ...): InvalidArgument naming them.
Result<AvroCodec> ParseAvroCodec(std::string_view name);

struct AvroHeader {
  std::string schema_json;  // avro.schema, as stored
  std::string codec;        // avro.codec as stored; "null" when absent
  AvroMetadata metadata;    // the user's keys (every key not starting with "avro."), in file order
  AvroSync sync{};
  int64_t first_block_offset = 0;  // where the first block starts (the header's size)
  int64_t file_size = 0;
};

//! Reads and checks the header (magic "Obj\x01", the metadata map, the sync marker). A file
//! that is not Avro or is cut short is Corruption naming `path` and the byte offset.
Result<AvroHeader> ReadAvroHeader(const std::string& path);

//! The same from the first bytes of a file of `file_size` bytes (a ranged read of a remote
//! object: its header holds the user metadata, such as the sources a file was merged from,
//! without the data). nullopt when `bytes` end inside the header: read more and call again.
//! Errors name `name`.
Result<std::optional<AvroHeader>> ParseAvroHeader(std::string_view bytes, const std::string& name,
                                                  int64_t file_size);

//! One block as stored.
struct AvroBlock {
  int64_t offset = 0;   // byte offset of the block's object count in the file
  int64_t count = 0;    // objects (records) in the block
  std::string payload;  // the block's bytes as stored (compressed with the file's codec)
  //! The records' binary encoding (the payload decompressed). For codec null: empty, and
  //! records() is the payload itself.
  std::string decompressed;
  std::string_view records() const { return decompressed.empty() ? payload : decompressed; }
};

//! Iterates the blocks of one container file, checking as it goes: each block's sync marker
//! must equal the header's; a snappy block's trailing CRC-32 must match its decompressed bytes;
//! a deflate block must inflate; the file must end right after a sync marker. Any of these
//! failing is Corruption naming the path and the block's byte offset.
class AvroBlockReader {
 public:
  static Result<std::unique_ptr<AvroBlockReader>> Open(const std::string& path);
  ~AvroBlockReader();
  AvroBlockReader(const AvroBlockReader&) = delete;
  AvroBlockReader& operator=(const AvroBlockReader&) = delete;

  const AvroHeader& header() const { return header_; }
  AvroCodec codec() const { return codec_; }
  //! Reads the next block into `*block`; false at the clean end of the file.
  Result<bool> Next(AvroBlock* block);

 private:
  AvroBlockReader(std::string path, int fd, AvroHeader header, AvroCodec codec);
  //! Bytes [offset, offset + n) of the file, through a read-ahead buffer.
  Status ReadAt(int64_t offset, size_t n, char* out);
  std::string path_;
  int fd_;
  AvroHeader header_;
  AvroCodec codec_;
  int64_t pos_;
  std::string ahead_;  // file bytes from ahead_at_ on
  int64_t ahead_at_ = 0;
};

//! Compresses a block's record bytes with `codec` (snappy: with the spec's trailing CRC-32).
std::string AvroCompress(AvroCodec codec, std::string_view records);

//! Creates a new container file and appends blocks to it. The sync marker is 16 bytes from
//! std::random_device (avro-c seeds its own from the clock: two files written in one second
//! would share one). Until Finish() succeeds the file is incomplete; destroying an unfinished
//! writer removes it, so a failure leaves no partial file.
class AvroContainerWriter {
 public:
  //! Creates `path` (create-only: AlreadyExists if it is there) and writes the header:
  //! avro.schema, avro.codec, then `metadata` (keys starting with "avro." are reserved:
  //! InvalidArgument).
  static Result<std::unique_ptr<AvroContainerWriter>> Create(const std::string& path,
                                                             const std::string& schema_json,
                                                             AvroCodec codec,
                                                             const AvroMetadata& metadata = {});
  ~AvroContainerWriter();
  AvroContainerWriter(const AvroContainerWriter&) = delete;
  AvroContainerWriter& operator=(const AvroContainerWriter&) = delete;

  //! Appends one block of `count` objects whose bytes are `payload` as stored, i.e. already
  //! compressed with this file's codec (a block copied from another file of the same codec).
  Status AppendBlock(int64_t count, std::string_view payload);
  //! Compresses `records` (the binary encoding of `count` objects) and appends it as a block.
  Status AppendRecords(int64_t count, std::string_view records);
  //! Flushes, fsyncs and closes the file. REQUIRES: not called before.
  Status Finish();

  const std::string& path() const { return path_; }
  const AvroSync& sync() const { return sync_; }
  AvroCodec codec() const { return codec_; }
  int64_t records() const { return records_; }
  int64_t blocks() const { return blocks_; }

 private:
  AvroContainerWriter(std::string path, int fd, AvroCodec codec, AvroSync sync);
  Status Write(std::string_view bytes);
  Status FlushBuffer();
  std::string path_;
  int fd_;
  AvroCodec codec_;
  AvroSync sync_;
  std::string buffer_;
  int64_t written_ = 0;       // bytes written to fd_
  int64_t written_back_ = 0;  // bytes whose write-back was started (sync_file_range)
  int64_t records_ = 0;
  int64_t blocks_ = 0;
  bool finished_ = false;
};

//! The schema's Parsing Canonical Form (Avro spec): full names, only the attributes that
//! matter for parsing (name, type, fields, symbols, items, values, size) in that order,
//! primitives in their short form, no white space. Two writer schemas with equal canonical
//! forms encode data identically. Invalid JSON or a malformed schema: InvalidArgument.
Result<std::string> CanonicalSchema(const std::string& schema_json);

//! A top-level field of a record schema, for showing and for converting to other formats.
struct AvroField {
  std::string name;
  std::string avro_type;    // the field's type as compact JSON ("long", ["null","double"])
  std::string engine_type;  // the DuckDB type its JSON-lines value is read as ("BIGINT", ...)
};
//! The top-level fields of a record schema; a schema that is not a record is one field named
//! "value" (AvroToJsonLines writes it so).
Result<std::vector<AvroField>> AvroRecordFields(const std::string& schema_json);

//! Zigzag varint of the spec's `long` (exposed for the codec layer and tests).
void AppendAvroLong(std::string* out, int64_t v);

}  // namespace lakepack
