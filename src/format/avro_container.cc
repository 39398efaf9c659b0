// The Avro object container format, read and written by lakepack itself: header, blocks, sync
// markers, the snappy and deflate codecs, and the schema's Parsing Canonical Form.
#include "format/avro_container.h"

#include <fcntl.h>
#include <snappy-c.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "common/crc32.h"

namespace lakepack {

namespace {

constexpr char kMagic[4] = {'O', 'b', 'j', '\x01'};
constexpr size_t kSyncSize = 16;
// Larger blocks and larger header reads go straight to the file; smaller ones are gathered.
constexpr size_t kWriteBufferBytes = 1 << 20;
constexpr int64_t kWriteBackBytes = 4 << 20;
constexpr size_t kFirstHeaderRead = 64 << 10;
// Files of small blocks (avro-c and python3-avro write 16 KiB) are read a megabyte at a time
// rather than three reads a block.
constexpr size_t kReadAhead = 1 << 20;
// Two longs (object count, byte size), each at most 10 bytes as a varint.
constexpr size_t kBlockPrefixMax = 20;

using json = nlohmann::json;

// A bounded reader of the spec's binary primitives over bytes in memory. `short_` is set when
// the bytes end before the value does (more of the file may hold it), `bad_` on a malformed
// value; both stop every later read.
struct Decoder {
  const uint8_t* begin;
  const uint8_t* p;
  const uint8_t* end;
  bool short_ = false;
  bool bad_ = false;
  std::string why;

  int64_t offset() const { return p - begin; }
  bool ok() const { return !short_ && !bad_; }

  bool Long(int64_t* v) {
    if (!ok()) return false;
    uint64_t u = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p == end) {
        short_ = true;
        return false;
      }
      uint8_t b = *p++;
      u |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        *v = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
        return true;
      }
    }
    bad_ = true;
    why = "a varint longer than 10 bytes";
    return false;
  }
  bool Bytes(std::string* out) {
    int64_t n = 0;
    if (!Long(&n)) return false;
    if (n < 0) {
      bad_ = true;
      why = fmt::format("a negative length ({})", n);
      return false;
    }
    if (end - p < n) {
      short_ = true;
      return false;
    }
    out->assign(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    p += n;
    return true;
  }
  bool Raw(uint8_t* out, size_t n) {
    if (!ok()) return false;
    if (static_cast<size_t>(end - p) < n) {
      short_ = true;
      return false;
    }
    std::memcpy(out, p, n);
    p += n;
    return true;
  }
};

Status PreadAll(int fd, int64_t offset, char* out, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out + done, n - done, offset + static_cast<int64_t>(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return PosixError(path + ": read", errno);
    }
    if (r == 0) {
      return Status::Corruption(fmt::format("{}: truncated: the file ends at byte {}", path,
                                            offset + static_cast<int64_t>(done)));
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

Result<int64_t> FileSize(int fd, const std::string& path) {
  struct stat sb;
  if (::fstat(fd, &sb) != 0) return PosixError(path, errno);
  if (S_ISDIR(sb.st_mode)) return Status::InvalidArgument(path + ": is a directory, not a file");
  return static_cast<int64_t>(sb.st_size);
}

// Parses a header from the file's first bytes. Returns OK with `*complete` false when the bytes
// end inside the header (the caller reads more).
Status ParseHeader(const std::string& path, std::string_view bytes, bool* complete, AvroHeader* h) {
  *complete = false;
  Decoder d{reinterpret_cast<const uint8_t*>(bytes.data()),
            reinterpret_cast<const uint8_t*>(bytes.data()),
            reinterpret_cast<const uint8_t*>(bytes.data()) + bytes.size()};
  uint8_t magic[4];
  if (!d.Raw(magic, 4)) return Status::OK();
  if (std::memcmp(magic, kMagic, 4) != 0) {
    return Status::Corruption(path + ": not an Avro file (no magic bytes \"Obj\\x01\" at byte 0)");
  }
  bool have_schema = false, have_codec = false;
  h->metadata.clear();
  for (;;) {
    const int64_t at = d.offset();
    int64_t count = 0;
    if (!d.Long(&count)) break;
    if (count == 0) break;
    if (count < 0) {
      // A negative count is followed by the block's size in bytes (the spec allows it so a
      // reader can skip the block); lakepack reads every entry anyway.
      int64_t ignored = 0;
      if (!d.Long(&ignored)) break;
      count = -count;
    }
    for (int64_t i = 0; i < count && d.ok(); ++i) {
      std::string key, value;
      if (!d.Bytes(&key) || !d.Bytes(&value)) break;
      if (key == "avro.schema") {
        h->schema_json = std::move(value);
        have_schema = true;
      } else if (key == "avro.codec") {
        h->codec = std::move(value);
        have_codec = true;
      } else if (key.rfind("avro.", 0) != 0) {
        h->metadata.emplace_back(std::move(key), std::move(value));
      }
    }
    if (d.bad_) {
      return Status::Corruption(
          fmt::format("{}: Avro header: bad metadata map at byte {}: {}", path, at, d.why));
    }
  }
  if (d.bad_) {
    return Status::Corruption(
        fmt::format("{}: Avro header: bad metadata map at byte {}: {}", path, d.offset(), d.why));
  }
  if (!d.Raw(h->sync.data(), kSyncSize)) return Status::OK();
  if (!have_schema) return Status::Corruption(path + ": Avro header has no avro.schema");
  if (!have_codec || h->codec.empty()) h->codec = "null";
  h->first_block_offset = d.offset();
  *complete = true;
  return Status::OK();
}

// `read`, when given, receives the bytes read from offset 0 (the whole of a small file).
Result<AvroHeader> ReadHeaderFd(int fd, const std::string& path, std::string* read = nullptr) {
  AvroHeader h;
  LP_ASSIGN_OR_RETURN(h.file_size, FileSize(fd, path));
  size_t want = kFirstHeaderRead;
  for (;;) {
    size_t n = static_cast<size_t>(std::min<int64_t>(want, h.file_size));
    std::string bytes(n, '\0');
    LP_RETURN_IF_ERROR(PreadAll(fd, 0, bytes.data(), n, path));
    bool complete = false;
    LP_RETURN_IF_ERROR(ParseHeader(path, bytes, &complete, &h));
    if (complete) {
      if (read) *read = std::move(bytes);
      return h;
    }
    if (static_cast<int64_t>(n) == h.file_size) {
      if (n < 4) {
        return Status::Corruption(
            fmt::format("{}: not an Avro file ({} bytes, shorter than the magic bytes)", path, n));
      }
      return Status::Corruption(
          fmt::format("{}: truncated Avro header: the file ends at byte {}", path, n));
    }
    want *= 4;  // a header larger than the first read (a long list of user metadata)
  }
}

// RFC 1951 raw deflate, as the spec's "deflate" codec stores it (no zlib header or trailer).
Status Inflate(std::string_view in, std::string* out, const std::string& where) {
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) return Status::IOError(where + ": zlib inflateInit failed");
  out->resize(std::max<size_t>(in.size() * 4, 256));
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (produced == out->size()) out->resize(out->size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + produced);
    zs.avail_out = static_cast<uInt>(out->size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out->size() - zs.avail_out;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    if (rc == Z_BUF_ERROR) rc = Z_OK;                  // only the output was full
  }
  std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) {
    return Status::Corruption(fmt::format("{}: deflate data does not inflate{}", where,
                                          msg.empty() ? " (cut short)" : ": " + msg));
  }
  // Bytes after the end of the deflate stream are not an error: python3-avro writes the zlib
  // stream cut as [2:-1], leaving three bytes of its Adler-32 behind every block, and the Java
  // and Python readers ignore them.
  out->resize(produced);
  return Status::OK();
}

// The snappy codec: snappy data, then the CRC-32 (big-endian) of the uncompressed bytes.
Status SnappyDecompress(std::string_view in, std::string* out, const std::string& where) {
  if (in.size() < 4) return Status::Corruption(where + ": snappy block shorter than its CRC");
  const size_t n = in.size() - 4;
  size_t len = 0;
  // snappy_uncompress checks its input as it goes, so there is no separate validating pass (it
  // would decompress every block twice); only the stated length is bounded first, so that a
  // corrupt one cannot make us allocate gigabytes. No snappy element expands more than 64 / 3.
  if (snappy_uncompressed_length(in.data(), n, &len) != SNAPPY_OK || len > 22 * n + 64) {
    return Status::Corruption(where + ": invalid snappy data");
  }
  out->resize(len);
  if (snappy_uncompress(in.data(), n, out->data(), &len) != SNAPPY_OK) {
    return Status::Corruption(where + ": invalid snappy data");
  }
  out->resize(len);
  const auto* c = reinterpret_cast<const uint8_t*>(in.data() + n);
  const uint32_t want =
      (uint32_t{c[0]} << 24) | (uint32_t{c[1]} << 16) | (uint32_t{c[2]} << 8) | uint32_t{c[3]};
  const uint32_t have = Crc32(*out);
  if (want != have) {
    return Status::Corruption(fmt::format(
        "{}: snappy block CRC-32 mismatch (stored {:08x}, data {:08x})", where, want, have));
  }
  return Status::OK();
}

AvroSync RandomSync() {
  std::random_device rd;
  AvroSync s;
  for (size_t i = 0; i < s.size(); i += 4) {
    uint32_t v = rd();
    std::memcpy(s.data() + i, &v, 4);
  }
  return s;
}

// --- Parsing Canonical Form ---------------------------------------------------------------

bool IsPrimitive(const std::string& t) {
  static const std::set<std::string> kPrimitives = {"null",  "boolean", "int",   "long",
                                                    "float", "double",  "bytes", "string"};
  return kPrimitives.count(t) != 0;
}

std::string Quoted(const std::string& s) { return json(s).dump(); }

// The full name of a named type `name` seen in namespace `ns` (names with a dot are full).
std::string FullName(const std::string& name, const std::string& ns) {
  if (name.find('.') != std::string::npos || ns.empty()) return name;
  return ns + "." + name;
}

std::string NamespaceOf(const std::string& full) {
  auto dot = full.rfind('.');
  return dot == std::string::npos ? "" : full.substr(0, dot);
}

Status Canon(const json& s, const std::string& ns, std::set<std::string>* defined,
             std::string* out) {
  if (s.is_string()) {
    const std::string t = s.get<std::string>();
    *out += Quoted(IsPrimitive(t) ? t : FullName(t, ns));
    return Status::OK();
  }
  if (s.is_array()) {
    *out += '[';
    for (size_t i = 0; i < s.size(); ++i) {
      if (i) *out += ',';
      LP_RETURN_IF_ERROR(Canon(s[i], ns, defined, out));
    }
    *out += ']';
    return Status::OK();
  }
  if (!s.is_object() || !s.contains("type")) {
    return Status::InvalidArgument("not a schema: " + s.dump());
  }
  const json& type = s["type"];
  if (!type.is_string()) return Canon(type, ns, defined, out);
  const std::string t = type.get<std::string>();
  if (IsPrimitive(t)) {
    *out += Quoted(t);  // every other attribute (logicalType, ...) is stripped
    return Status::OK();
  }
  if (t == "record" || t == "error" || t == "enum" || t == "fixed") {
    if (!s.contains("name") || !s["name"].is_string()) {
      return Status::InvalidArgument("a " + t + " without a name: " + s.dump());
    }
    std::string own_ns = ns;
    if (s.contains("namespace") && s["namespace"].is_string()) {
      own_ns = s["namespace"].get<std::string>();
    }
    const std::string full = FullName(s["name"].get<std::string>(), own_ns);
    if (!defined->insert(full).second) {
      *out += Quoted(full);
      return Status::OK();
    }
    *out += "{\"name\":" + Quoted(full) + ",\"type\":" + Quoted(t);
    if (t == "enum") {
      if (!s.contains("symbols") || !s["symbols"].is_array()) {
        return Status::InvalidArgument("enum " + full + " without symbols");
      }
      *out += ",\"symbols\":[";
      for (size_t i = 0; i < s["symbols"].size(); ++i) {
        if (i) *out += ',';
        *out += Quoted(s["symbols"][i].get<std::string>());
      }
      *out += ']';
    } else if (t == "fixed") {
      if (!s.contains("size") || !s["size"].is_number_integer()) {
        return Status::InvalidArgument("fixed " + full + " without an integer size");
      }
      *out += ",\"size\":" + std::to_string(s["size"].get<int64_t>());
    } else {
      if (!s.contains("fields") || !s["fields"].is_array()) {
        return Status::InvalidArgument("record " + full + " without fields");
      }
      *out += ",\"fields\":[";
      const std::string inner_ns = NamespaceOf(full);
      for (size_t i = 0; i < s["fields"].size(); ++i) {
        const json& f = s["fields"][i];
        if (!f.is_object() || !f.contains("name") || !f.contains("type")) {
          return Status::InvalidArgument("record " + full + ": a field without name or type");
        }
        if (i) *out += ',';
        *out += "{\"name\":" + Quoted(f["name"].get<std::string>()) + ",\"type\":";
        LP_RETURN_IF_ERROR(Canon(f["type"], inner_ns, defined, out));
        *out += '}';
      }
      *out += ']';
    }
    *out += '}';
    return Status::OK();
  }
  if (t == "array") {
    if (!s.contains("items")) return Status::InvalidArgument("array without items");
    *out += "{\"type\":\"array\",\"items\":";
    LP_RETURN_IF_ERROR(Canon(s["items"], ns, defined, out));
    *out += '}';
    return Status::OK();
  }
  if (t == "map") {
    if (!s.contains("values")) return Status::InvalidArgument("map without values");
    *out += "{\"type\":\"map\",\"values\":";
    LP_RETURN_IF_ERROR(Canon(s["values"], ns, defined, out));
    *out += '}';
    return Status::OK();
  }
  // {"type": "some.Named"}: a reference to a named type.
  *out += Quoted(FullName(t, ns));
  return Status::OK();
}

Result<json> ParseSchemaJson(const std::string& schema_json) {
  json s = json::parse(schema_json, nullptr, /*allow_exceptions=*/false);
  if (s.is_discarded()) return Status::InvalidArgument("the Avro schema is not valid JSON");
  return s;
}

// The kind ("record", "enum", "fixed") of every named type, by full and by short name.
void CollectNamed(const json& s, const std::string& ns, std::map<std::string, std::string>* kinds) {
  if (s.is_array()) {
    for (const auto& b : s) CollectNamed(b, ns, kinds);
    return;
  }
  if (!s.is_object() || !s.contains("type")) return;
  const json& type = s["type"];
  if (!type.is_string()) return CollectNamed(type, ns, kinds);
  const std::string t = type.get<std::string>();
  std::string inner = ns;
  if ((t == "record" || t == "error" || t == "enum" || t == "fixed") && s.contains("name") &&
      s["name"].is_string()) {
    std::string own_ns = s.contains("namespace") && s["namespace"].is_string()
                             ? s["namespace"].get<std::string>()
                             : ns;
    std::string full = FullName(s["name"].get<std::string>(), own_ns);
    (*kinds)[full] = t == "error" ? "record" : t;
    (*kinds)[s["name"].get<std::string>()] = (*kinds)[full];
    inner = NamespaceOf(full);
  }
  if (s.contains("fields") && s["fields"].is_array()) {
    for (const auto& f : s["fields"]) {
      if (f.is_object() && f.contains("type")) CollectNamed(f["type"], inner, kinds);
    }
  }
  if (s.contains("items")) CollectNamed(s["items"], ns, kinds);
  if (s.contains("values")) CollectNamed(s["values"], ns, kinds);
}

std::string EngineType(const json& t, const std::map<std::string, std::string>& kinds) {
  if (t.is_array()) {  // a union: the type of its one non-null branch, else JSON
    std::string only;
    for (const auto& b : t) {
      if (b.is_string() && b.get<std::string>() == "null") continue;
      std::string e = EngineType(b, kinds);
      if (!only.empty() && only != e) return "JSON";
      only = e;
    }
    return only.empty() ? "VARCHAR" : only;
  }
  std::string name;
  if (t.is_string()) {
    name = t.get<std::string>();
  } else if (t.is_object() && t.contains("type")) {
    if (!t["type"].is_string()) return EngineType(t["type"], kinds);
    name = t["type"].get<std::string>();
  }
  // Logical types keep their underlying type: a timestamp-millis is its BIGINT, lossless.
  if (name == "boolean") return "BOOLEAN";
  if (name == "int") return "INTEGER";
  if (name == "long") return "BIGINT";
  if (name == "float") return "FLOAT";
  if (name == "double") return "DOUBLE";
  if (name == "null" || name == "string" || name == "bytes" || name == "enum" || name == "fixed") {
    return "VARCHAR";
  }
  if (name == "record" || name == "error" || name == "array" || name == "map") return "JSON";
  auto k = kinds.find(name);
  if (k == kinds.end()) k = kinds.find(name.substr(name.rfind('.') + 1));
  if (k != kinds.end() && k->second != "record") return "VARCHAR";  // enum, fixed
  return "JSON";
}

}  // namespace

std::string_view AvroCodecName(AvroCodec codec) {
  switch (codec) {
    case AvroCodec::kNull:
      return "null";
    case AvroCodec::kDeflate:
      return "deflate";
    case AvroCodec::kSnappy:
      return "snappy";
  }
  return "null";
}

Result<AvroCodec> ParseAvroCodec(std::string_view name) {
  if (name.empty() || name == "null") return AvroCodec::kNull;
  if (name == "deflate") return AvroCodec::kDeflate;
  if (name == "snappy") return AvroCodec::kSnappy;
  return Status::InvalidArgument("unsupported Avro codec '" + std::string(name) +
                                 "' (lakepack reads and writes null, deflate and snappy)");
}

void AppendAvroLong(std::string* out, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out->push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out->push_back(static_cast<char>(u));
}

Result<std::optional<AvroHeader>> ParseAvroHeader(std::string_view bytes, const std::string& name,
                                                  int64_t file_size) {
  AvroHeader h;
  h.file_size = file_size;
  bool complete = false;
  LP_RETURN_IF_ERROR(ParseHeader(name, bytes, &complete, &h));
  if (complete) return std::optional<AvroHeader>(std::move(h));
  if (static_cast<int64_t>(bytes.size()) >= file_size) {
    return Status::Corruption(
        fmt::format("{}: truncated Avro header: the file ends at byte {}", name, file_size));
  }
  return std::optional<AvroHeader>();
}

Result<AvroHeader> ReadAvroHeader(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError(path, errno);
  auto h = ReadHeaderFd(fd, path);
  ::close(fd);
  return h;
}

// --- AvroBlockReader ----------------------------------------------------------------------

AvroBlockReader::AvroBlockReader(std::string path, int fd, AvroHeader header, AvroCodec codec)
    : path_(std::move(path)),
      fd_(fd),
      header_(std::move(header)),
      codec_(codec),
      pos_(header_.first_block_offset) {}

AvroBlockReader::~AvroBlockReader() { ::close(fd_); }

Result<std::unique_ptr<AvroBlockReader>> AvroBlockReader::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError(path, errno);
  std::string first;
  auto h = ReadHeaderFd(fd, path, &first);
  if (!h.ok()) {
    ::close(fd);
    return h.status();
  }
  auto codec = ParseAvroCodec(h->codec);
  if (!codec.ok()) {
    ::close(fd);
    return codec.status().WithContext(path);
  }
  auto reader =
      std::unique_ptr<AvroBlockReader>(new AvroBlockReader(path, fd, std::move(*h), *codec));
  // The header's read is the start of the read-ahead: a small file is read once.
  reader->ahead_ = std::move(first);
  reader->ahead_at_ = 0;
  return reader;
}

Status AvroBlockReader::ReadAt(int64_t offset, size_t n, char* out) {
  const int64_t end = offset + static_cast<int64_t>(n);
  if (offset >= ahead_at_ && end <= ahead_at_ + static_cast<int64_t>(ahead_.size())) {
    std::memcpy(out, ahead_.data() + (offset - ahead_at_), n);
    return Status::OK();
  }
  if (n >= kReadAhead / 2) return PreadAll(fd_, offset, out, n, path_);
  ahead_at_ = offset;
  ahead_.resize(static_cast<size_t>(
      std::max<int64_t>(std::min<int64_t>(kReadAhead, header_.file_size - offset), end - offset)));
  Status st = PreadAll(fd_, offset, ahead_.data(), ahead_.size(), path_);
  if (!st.ok()) {
    ahead_.clear();
    return st;
  }
  std::memcpy(out, ahead_.data(), n);
  return Status::OK();
}

Result<bool> AvroBlockReader::Next(AvroBlock* block) {
  const int64_t size = header_.file_size;
  if (pos_ == size) return false;
  const int64_t at = pos_;
  const std::string where = fmt::format("{}: block at byte {}", path_, at);
  char prefix[kBlockPrefixMax];
  const size_t n = static_cast<size_t>(std::min<int64_t>(kBlockPrefixMax, size - at));
  LP_RETURN_IF_ERROR(ReadAt(at, n, prefix));
  Decoder d{reinterpret_cast<const uint8_t*>(prefix), reinterpret_cast<const uint8_t*>(prefix),
            reinterpret_cast<const uint8_t*>(prefix) + n};
  int64_t count = 0, bytes = 0;
  d.Long(&count) && d.Long(&bytes);
  if (d.short_) {
    return Status::Corruption(fmt::format(
        "{}: truncated: the file ends at byte {} inside the block's header", where, size));
  }
  if (d.bad_ || count < 0 || bytes < 0) {
    return Status::Corruption(fmt::format("{}: bad block header (count {}, size {}){}", where,
                                          count, bytes, d.why.empty() ? "" : ": " + d.why));
  }
  const int64_t data_at = at + d.offset();
  if (bytes > size - data_at || size - data_at - bytes < static_cast<int64_t>(kSyncSize)) {
    return Status::Corruption(fmt::format(
        "{}: truncated: {} objects in {} bytes plus the sync marker need {} bytes, the file "
        "ends at byte {}",
        where, count, bytes, data_at + bytes + static_cast<int64_t>(kSyncSize), size));
  }
  block->offset = at;
  block->count = count;
  block->payload.resize(static_cast<size_t>(bytes));
  LP_RETURN_IF_ERROR(ReadAt(data_at, block->payload.size(), block->payload.data()));
  AvroSync sync;
  LP_RETURN_IF_ERROR(ReadAt(data_at + bytes, kSyncSize, reinterpret_cast<char*>(sync.data())));
  if (sync != header_.sync) {
    return Status::Corruption(where +
                              ": the sync marker after the block does not match the "
                              "header's (corrupt data or a wrong block size)");
  }
  block->decompressed.clear();
  switch (codec_) {
    case AvroCodec::kNull:
      break;
    case AvroCodec::kSnappy:
      LP_RETURN_IF_ERROR(SnappyDecompress(block->payload, &block->decompressed, where));
      break;
    case AvroCodec::kDeflate:
      LP_RETURN_IF_ERROR(Inflate(block->payload, &block->decompressed, where));
      break;
  }
  pos_ = data_at + bytes + static_cast<int64_t>(kSyncSize);
  return true;
}

// --- AvroContainerWriter ------------------------------------------------------------------

std::string AvroCompress(AvroCodec codec, std::string_view records) {
  switch (codec) {
    case AvroCodec::kNull:
      return std::string(records);
    case AvroCodec::kSnappy: {
      std::string out(snappy_max_compressed_length(records.size()) + 4, '\0');
      size_t len = out.size();
      snappy_compress(records.data(), records.size(), out.data(), &len);
      const uint32_t crc = Crc32(records);
      out[len] = static_cast<char>(crc >> 24);
      out[len + 1] = static_cast<char>(crc >> 16);
      out[len + 2] = static_cast<char>(crc >> 8);
      out[len + 3] = static_cast<char>(crc);
      out.resize(len + 4);
      return out;
    }
    case AvroCodec::kDeflate: {
      z_stream zs{};
      deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
      std::string out(deflateBound(&zs, static_cast<uLong>(records.size())), '\0');
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(records.data()));
      zs.avail_in = static_cast<uInt>(records.size());
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size());
      deflate(&zs, Z_FINISH);  // deflateBound guarantees room for it all in one call
      out.resize(zs.total_out);
      deflateEnd(&zs);
      return out;
    }
  }
  return std::string(records);
}

AvroContainerWriter::AvroContainerWriter(std::string path, int fd, AvroCodec codec, AvroSync sync)
    : path_(std::move(path)), fd_(fd), codec_(codec), sync_(sync) {}

AvroContainerWriter::~AvroContainerWriter() {
  if (!finished_) {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
}

Result<std::unique_ptr<AvroContainerWriter>> AvroContainerWriter::Create(
    const std::string& path, const std::string& schema_json, AvroCodec codec,
    const AvroMetadata& metadata) {
  for (const auto& [k, v] : metadata) {
    if (k.rfind("avro.", 0) == 0) {
      return Status::InvalidArgument(path + ": metadata key '" + k +
                                     "' is reserved by the Avro spec");
    }
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return PosixError(path, errno);
  std::unique_ptr<AvroContainerWriter> w(new AvroContainerWriter(path, fd, codec, RandomSync()));
  std::string h(kMagic, 4);
  AppendAvroLong(&h, static_cast<int64_t>(metadata.size() + 2));
  auto pair = [&h](std::string_view k, std::string_view v) {
    AppendAvroLong(&h, static_cast<int64_t>(k.size()));
    h += k;
    AppendAvroLong(&h, static_cast<int64_t>(v.size()));
    h += v;
  };
  pair("avro.schema", schema_json);
  pair("avro.codec", AvroCodecName(codec));
  for (const auto& [k, v] : metadata) pair(k, v);
  AppendAvroLong(&h, 0);
  h.append(reinterpret_cast<const char*>(w->sync_.data()), kSyncSize);
  LP_RETURN_IF_ERROR(w->Write(h));
  return w;
}

Status AvroContainerWriter::FlushBuffer() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t r = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return PosixError(path_ + ": write", errno);
    }
    done += static_cast<size_t>(r);
  }
  written_ += static_cast<int64_t>(done);
  buffer_.clear();
  // Starts the write-back of what is written as it goes (as LevelDB's bytes_per_sync does),
  // so that Finish's fsync waits for the last few MiB, not for the whole file. Advisory:
  // an error here only means the fsync does all the work.
  if (written_ - written_back_ >= kWriteBackBytes) {
    (void)::sync_file_range(fd_, written_back_, written_ - written_back_, SYNC_FILE_RANGE_WRITE);
    written_back_ = written_;
  }
  return Status::OK();
}

Status AvroContainerWriter::Write(std::string_view bytes) {
  buffer_ += bytes;
  if (buffer_.size() >= kWriteBufferBytes) return FlushBuffer();
  return Status::OK();
}

Status AvroContainerWriter::AppendBlock(int64_t count, std::string_view payload) {
  if (finished_) return Status::FailedPrecondition(path_ + ": append after Finish");
  if (count < 0) return Status::InvalidArgument(path_ + ": a block of a negative object count");
  std::string prefix;
  AppendAvroLong(&prefix, count);
  AppendAvroLong(&prefix, static_cast<int64_t>(payload.size()));
  LP_RETURN_IF_ERROR(Write(prefix));
  LP_RETURN_IF_ERROR(Write(payload));
  LP_RETURN_IF_ERROR(
      Write(std::string_view(reinterpret_cast<const char*>(sync_.data()), kSyncSize)));
  records_ += count;
  ++blocks_;
  return Status::OK();
}

Status AvroContainerWriter::AppendRecords(int64_t count, std::string_view records) {
  if (codec_ == AvroCodec::kNull) return AppendBlock(count, records);
  return AppendBlock(count, AvroCompress(codec_, records));
}

Status AvroContainerWriter::Finish() {
  if (finished_) return Status::FailedPrecondition(path_ + ": Finish called twice");
  LP_RETURN_IF_ERROR(FlushBuffer());
  if (::fsync(fd_) != 0) return PosixError(path_ + ": fsync", errno);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return PosixError(path_ + ": close", errno);
  }
  finished_ = true;
  return Status::OK();
}

// --- Schemas ------------------------------------------------------------------------------

Result<std::string> CanonicalSchema(const std::string& schema_json) {
  LP_ASSIGN_OR_RETURN(json s, ParseSchemaJson(schema_json));
  std::set<std::string> defined;
  std::string out;
  LP_RETURN_IF_ERROR(Canon(s, "", &defined, &out));
  return out;
}

Result<std::vector<AvroField>> AvroRecordFields(const std::string& schema_json) {
  LP_ASSIGN_OR_RETURN(json s, ParseSchemaJson(schema_json));
  std::map<std::string, std::string> kinds;
  CollectNamed(s, "", &kinds);
  std::vector<AvroField> out;
  const bool record = s.is_object() && s.contains("type") && s["type"].is_string() &&
                      (s["type"] == "record" || s["type"] == "error");
  if (!record) {
    out.push_back({"value", s.dump(), EngineType(s, kinds)});
    return out;
  }
  if (!s.contains("fields") || !s["fields"].is_array()) {
    return Status::InvalidArgument("the Avro schema's record has no fields");
  }
  for (const auto& f : s["fields"]) {
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("type")) {
      return Status::InvalidArgument("the Avro schema has a field without name or type");
    }
    out.push_back({f["name"].get<std::string>(), f["type"].dump(), EngineType(f["type"], kinds)});
  }
  return out;
}

}  // namespace lakepack
