// Names of file formats and codecs, as users type them and as files are named.
#include <string>

#include "common/strings.h"
#include "lakepack/format.h"

namespace lakepack {

std::string_view FormatName(FileFormat format) {
  switch (format) {
    case FileFormat::kParquet:
      return "parquet";
    case FileFormat::kCsv:
      return "csv";
    case FileFormat::kJsonLines:
      return "jsonl";
    case FileFormat::kAvro:
      return "avro";
    case FileFormat::kUnknown:
      break;
  }
  return "unknown";
}

Result<FileFormat> ParseFormat(std::string_view name) {
  std::string n = Lower(name);
  if (n == "parquet" || n == "snappy.parquet") return FileFormat::kParquet;
  if (n == "csv") return FileFormat::kCsv;
  if (n == "jsonl" || n == "ndjson" || n == "json") return FileFormat::kJsonLines;
  if (n == "avro") return FileFormat::kAvro;
  return Status::InvalidArgument("unknown format '" + std::string(name) +
                                 "' (expected parquet, csv, jsonl or avro)");
}

FileFormat FormatFromPath(std::string_view path) {
  std::string p = Lower(path);
  if (EndsWith(p, ".parquet") || EndsWith(p, ".parq") || EndsWith(p, ".pq")) {
    return FileFormat::kParquet;
  }
  if (EndsWith(p, ".csv") || EndsWith(p, ".tsv")) return FileFormat::kCsv;
  if (EndsWith(p, ".jsonl") || EndsWith(p, ".ndjson") || EndsWith(p, ".json")) {
    return FileFormat::kJsonLines;
  }
  if (EndsWith(p, ".avro")) return FileFormat::kAvro;
  return FileFormat::kUnknown;
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kSnappy:
      return "snappy";
    case Compression::kZstd:
      return "zstd";
    case Compression::kGzip:
      return "gzip";
    case Compression::kUncompressed:
      return "uncompressed";
  }
  return "snappy";
}

Result<Compression> ParseCompression(std::string_view name) {
  std::string n = Lower(name);
  if (n == "snappy") return Compression::kSnappy;
  if (n == "zstd") return Compression::kZstd;
  if (n == "gzip") return Compression::kGzip;
  if (n == "uncompressed" || n == "none") return Compression::kUncompressed;
  return Status::InvalidArgument("unknown compression '" + std::string(name) +
                                 "' (expected snappy, zstd, gzip or uncompressed)");
}

}  // namespace lakepack
