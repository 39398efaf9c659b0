// Cutting a Parquet file by row groups (see parquet_split.h).
#include "format/parquet_split.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "format/avro_container.h"  // AppendAvroLong: Thrift's compact integers are the same zigzag varints

namespace lakepack {

namespace {

// Thrift compact protocol type ids.
enum : uint8_t {
  kTrue = 1,
  kFalse = 2,
  kByte = 3,
  kI16 = 4,
  kI32 = 5,
  kI64 = 6,
  kDouble = 7,
  kBinary = 8,
  kList = 9,
  kSet = 10,
  kMap = 11,
  kStruct = 12,
};

// One value of a compact-protocol tree.
struct TValue {
  uint8_t type = kStruct;
  int64_t i = 0;    // bool (a field's type says which), byte, i16, i32, i64; a double's bits
  std::string bin;  // binary and string
  uint8_t elem = 0, value_elem = 0;  // list and set: element type; map: key and value types
  std::vector<TValue> elems;         // list and set; map: key, value, key, value...
  std::vector<std::pair<int16_t, TValue>> fields;  // struct, in the order read

  TValue* Field(int16_t id) {
    for (auto& [fid, v] : fields) {
      if (fid == id) return &v;
    }
    return nullptr;
  }
  void Set(int16_t id, TValue v) {
    if (TValue* f = Field(id)) {
      *f = std::move(v);
      return;
    }
    auto at =
        std::find_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first > id; });
    fields.insert(at, {id, std::move(v)});
  }
  void Erase(int16_t id) {
    fields.erase(
        std::remove_if(fields.begin(), fields.end(), [&](const auto& f) { return f.first == id; }),
        fields.end());
  }
};

TValue Int(uint8_t type, int64_t v) {
  TValue t;
  t.type = type;
  t.i = v;
  return t;
}

TValue Binary(std::string s) {
  TValue t;
  t.type = kBinary;
  t.bin = std::move(s);
  return t;
}

class Reader {
 public:
  explicit Reader(std::string_view data) : d_(data) {}
  bool ok() const { return ok_; }

  TValue Struct(int depth = 0) {
    TValue s;
    s.type = kStruct;
    if (depth > 32) return Fail(s);
    int16_t last = 0;
    while (ok_) {
      uint8_t b = Byte();
      if (!ok_ || b == 0) break;
      uint8_t type = b & 0x0f;
      int16_t id =
          (b >> 4) ? static_cast<int16_t>(last + (b >> 4)) : static_cast<int16_t>(Zigzag(Varint()));
      last = id;
      TValue v;
      if (type == kTrue || type == kFalse) {
        v.type = type;
        v.i = type == kTrue;
      } else {
        v = Value(type, depth);
      }
      s.fields.emplace_back(id, std::move(v));
    }
    return s;
  }

 private:
  TValue Fail(TValue v = {}) {
    ok_ = false;
    return v;
  }
  uint8_t Byte() {
    if (pos_ >= d_.size()) {
      ok_ = false;
      return 0;
    }
    return static_cast<uint8_t>(d_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && ok_; shift += 7) {
      uint8_t b = Byte();
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok_ = false;
    return 0;
  }
  static int64_t Zigzag(uint64_t v) {
    return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
  }
  TValue Value(uint8_t type, int depth) {
    TValue v;
    v.type = type;
    switch (type) {
      case kTrue:
      case kFalse:
      case kByte:  // a bool inside a collection is a byte too
        v.i = Byte();
        return v;
      case kI16:
      case kI32:
      case kI64:
        v.i = Zigzag(Varint());
        return v;
      case kDouble:
        if (pos_ + 8 > d_.size()) return Fail(v);
        std::memcpy(&v.i, d_.data() + pos_, 8);
        pos_ += 8;
        return v;
      case kBinary: {
        uint64_t n = Varint();
        if (!ok_ || n > d_.size() - pos_) return Fail(v);
        v.bin.assign(d_.data() + pos_, n);
        pos_ += n;
        return v;
      }
      case kList:
      case kSet: {
        uint8_t h = Byte();
        uint64_t n = h >> 4;
        v.elem = h & 0x0f;
        if (n == 15) n = Varint();
        if (!ok_ || n > d_.size() - pos_) return Fail(v);
        for (uint64_t k = 0; k < n && ok_; k++) v.elems.push_back(Value(v.elem, depth + 1));
        return v;
      }
      case kMap: {
        uint64_t n = Varint();
        if (!ok_ || n > d_.size() - pos_) return Fail(v);
        if (n > 0) {
          uint8_t kv = Byte();
          v.elem = kv >> 4;
          v.value_elem = kv & 0x0f;
        }
        for (uint64_t k = 0; k < n && ok_; k++) {
          v.elems.push_back(Value(v.elem, depth + 1));
          v.elems.push_back(Value(v.value_elem, depth + 1));
        }
        return v;
      }
      case kStruct:
        return Struct(depth + 1);
      default:
        return Fail(v);
    }
  }

  std::string_view d_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void Varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void WriteValue(std::string* out, const TValue& v);

void WriteStruct(std::string* out, const TValue& s) {
  int16_t last = 0;
  for (const auto& [id, v] : s.fields) {
    uint8_t type = v.type;
    if (type == kTrue || type == kFalse) type = v.i ? kTrue : kFalse;
    if (id > last && id - last <= 15) {
      out->push_back(static_cast<char>(((id - last) << 4) | type));
    } else {
      out->push_back(static_cast<char>(type));
      AppendAvroLong(out, id);
    }
    last = id;
    if (type != kTrue && type != kFalse) WriteValue(out, v);
  }
  out->push_back(0);
}

void WriteValue(std::string* out, const TValue& v) {
  switch (v.type) {
    case kTrue:
    case kFalse:
    case kByte:
      out->push_back(static_cast<char>(v.i));
      return;
    case kI16:
    case kI32:
    case kI64:
      AppendAvroLong(out, v.i);
      return;
    case kDouble:
      out->append(reinterpret_cast<const char*>(&v.i), 8);
      return;
    case kBinary:
      Varint(out, v.bin.size());
      out->append(v.bin);
      return;
    case kList:
    case kSet:
      if (v.elems.size() < 15) {
        out->push_back(static_cast<char>((v.elems.size() << 4) | v.elem));
      } else {
        out->push_back(static_cast<char>(0xf0 | v.elem));
        Varint(out, v.elems.size());
      }
      for (const auto& e : v.elems) WriteValue(out, e);
      return;
    case kMap:
      Varint(out, v.elems.size() / 2);
      if (!v.elems.empty()) out->push_back(static_cast<char>((v.elem << 4) | v.value_elem));
      for (const auto& e : v.elems) WriteValue(out, e);
      return;
    case kStruct:
      WriteStruct(out, v);
      return;
  }
}

// Parquet's field ids (parquet.thrift).
namespace fmd {  // FileMetaData
constexpr int16_t kNumRows = 3, kRowGroups = 4, kKeyValue = 5, kEncryption = 8;
}
namespace rg {  // RowGroup
constexpr int16_t kColumns = 1, kNumRows = 3, kFileOffset = 5, kOrdinal = 7;
}
namespace cc {  // ColumnChunk
constexpr int16_t kFilePath = 1, kFileOffset = 2, kMeta = 3, kOffsetIndex = 4, kColumnIndex = 6,
                  kCrypto = 8;
}
namespace cmd {  // ColumnMetaData
constexpr int16_t kCompressedSize = 7, kDataPage = 9, kIndexPage = 10, kDictionaryPage = 11,
                  kBloomOffset = 14, kBloomLength = 15;
}

int64_t IntOr(TValue* v, int64_t fallback) { return v ? v->i : fallback; }

Status PosixAt(const std::string& path, const char* what) {
  return Status::IOError(fmt::format("{}: {}: {}", path, what, std::strerror(errno)));
}

bool PreadAll(int fd, char* buf, size_t n, off_t at) {
  while (n > 0) {
    ssize_t r = ::pread(fd, buf, n, at);
    if (r <= 0) return false;
    buf += r, n -= static_cast<size_t>(r), at += r;
  }
  return true;
}

bool WriteAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, buf, n);
    if (w <= 0) return false;
    buf += w, n -= static_cast<size_t>(w);
  }
  return true;
}

// Copies [at, at + n) of `in` to the end of `out`: in the kernel where it can.
bool CopyRange(int in, int out, off_t at, int64_t n) {
  while (n > 0) {
    loff_t from = at;
    ssize_t c = ::copy_file_range(in, &from, out, nullptr, static_cast<size_t>(n), 0);
    if (c <= 0) break;
    at += c, n -= c;
  }
  std::vector<char> buf(1 << 20);
  while (n > 0) {
    size_t k = static_cast<size_t>(std::min<int64_t>(n, static_cast<int64_t>(buf.size())));
    if (!PreadAll(in, buf.data(), k, at) || !WriteAll(out, buf.data(), k)) return false;
    at += static_cast<off_t>(k), n -= static_cast<int64_t>(k);
  }
  return true;
}

}  // namespace

// Where each row group's bytes are in the source: the span of its column chunks and each
// chunk's bloom filter.
struct ParquetSplitter::Footer {
  TValue meta;
  struct Group {
    int64_t start = 0, end = 0;
    std::vector<std::pair<int64_t, int64_t>> blooms;  // (offset, length) per chunk; length 0: none
  };
  std::vector<Group> groups;
};

ParquetSplitter::~ParquetSplitter() {
  if (fd_ >= 0) ::close(fd_);
}

double ParquetSplitter::footer_bytes_per_row_group() const {
  return spans_.empty() ? 0.0
                        : static_cast<double>(footer_size_) / static_cast<double>(spans_.size());
}

Result<std::unique_ptr<ParquetSplitter>> ParquetSplitter::Open(const std::string& path) {
  std::unique_ptr<ParquetSplitter> s(new ParquetSplitter());
  s->path_ = path;
  s->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (s->fd_ < 0) return PosixError(path, errno);
  struct stat sb;
  if (::fstat(s->fd_, &sb) != 0) return PosixError(path, errno);
  const int64_t size = sb.st_size;
  char tail[8];
  if (size < 12 || !PreadAll(s->fd_, tail, 8, size - 8) || std::memcmp(tail + 4, "PAR1", 4) != 0) {
    return Status::Corruption(path + ": not a Parquet file (no magic bytes at the end)");
  }
  uint32_t len = 0;
  std::memcpy(&len, tail, 4);  // little-endian on every platform lakepack builds for
  if (len == 0 || static_cast<int64_t>(len) > size - 12) {
    return Status::Corruption(path + ": not a Parquet file (bad footer length)");
  }
  std::string raw(len, '\0');
  if (!PreadAll(s->fd_, raw.data(), len, size - 8 - len))
    return PosixAt(path, "reading its footer");
  s->footer_size_ = len;
  s->footer_ = std::make_unique<Footer>();
  Reader r(raw);
  s->footer_->meta = r.Struct();
  if (!r.ok()) return Status::Corruption(path + ": its Parquet footer cannot be decoded");
  auto refuse = [&](const std::string& why) {
    return Status::FailedPrecondition(
        fmt::format("{}: cannot be cut by row groups: {}", path, why));
  };
  TValue& meta = s->footer_->meta;
  if (meta.Field(fmd::kEncryption)) return refuse("encrypted");
  TValue* groups = meta.Field(fmd::kRowGroups);
  if (!groups) return s;
  for (TValue& g : groups->elems) {
    Footer::Group where;
    where.start = INT64_MAX, where.end = 0;
    TValue* cols = g.Field(rg::kColumns);
    if (!cols || cols->elems.empty()) return refuse("a row group without columns");
    int64_t blooms = 0;
    for (TValue& c : cols->elems) {
      if (c.Field(cc::kFilePath) || c.Field(cc::kCrypto))
        return refuse("a column chunk in another file");
      if (c.Field(cc::kOffsetIndex) || c.Field(cc::kColumnIndex)) return refuse("page indexes");
      TValue* m = c.Field(cc::kMeta);
      if (!m || !m->Field(cmd::kDataPage) || !m->Field(cmd::kCompressedSize)) {
        return refuse("a column chunk without its offsets");
      }
      if (m->Field(cmd::kIndexPage)) return refuse("index pages");
      int64_t dict = IntOr(m->Field(cmd::kDictionaryPage), 0);
      int64_t data = m->Field(cmd::kDataPage)->i;
      int64_t start = dict > 0 ? std::min(dict, data) : data;
      int64_t end = start + m->Field(cmd::kCompressedSize)->i;
      if (start < 4 || end > size - 8 - len || end < start)
        return refuse("a column chunk out of place");
      where.start = std::min(where.start, start);
      where.end = std::max(where.end, end);
      int64_t bo = IntOr(m->Field(cmd::kBloomOffset), -1);
      int64_t bl = IntOr(m->Field(cmd::kBloomLength), 0);
      if (bo >= 0 && bl <= 0) return refuse("a bloom filter of unknown length");
      if (bo >= 0 && (bo < 4 || bo + bl > size - 8 - len))
        return refuse("a bloom filter out of place");
      where.blooms.emplace_back(bo, bo >= 0 ? bl : 0);
      blooms += bo >= 0 ? bl : 0;
    }
    ParquetRowGroupSpan span;
    span.rows = IntOr(g.Field(rg::kNumRows), -1);
    if (span.rows < 0) return refuse("a row group without its row count");
    span.bytes = where.end - where.start + blooms;
    s->spans_.push_back(span);
    s->footer_->groups.push_back(std::move(where));
  }
  return s;
}

Result<int64_t> ParquetSplitter::Write(
    size_t first, size_t count, const std::vector<std::pair<std::string, std::string>>& metadata,
    const std::string& out) {
  if (first + count > spans_.size() || count == 0) {
    return Status::InvalidArgument(
        fmt::format("{}: row groups [{}, {}) of {}", path_, first, first + count, spans_.size()));
  }
  int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return PosixError(out, errno);
  auto fail = [&](const char* what) {
    Status st = PosixAt(out, what);
    ::close(fd);
    ::unlink(out.c_str());
    return st;
  };
  if (!WriteAll(fd, "PAR1", 4)) return fail("writing");
  int64_t pos = 4, rows = 0;
  TValue meta = footer_->meta;  // a copy: the source's footer serves every cut
  TValue* all = meta.Field(fmd::kRowGroups);
  std::vector<TValue> kept(all->elems.begin() + static_cast<std::ptrdiff_t>(first),
                           all->elems.begin() + static_cast<std::ptrdiff_t>(first + count));
  // The column chunks, row group by row group, every offset moved by the same distance.
  for (size_t k = 0; k < count; k++) {
    const Footer::Group& where = footer_->groups[first + k];
    const int64_t shift = pos - where.start;
    if (!CopyRange(fd_, fd, where.start, where.end - where.start))
      return fail("copying row groups");
    pos += where.end - where.start;
    TValue& g = kept[k];
    rows += g.Field(rg::kNumRows)->i;
    if (TValue* off = g.Field(rg::kFileOffset)) off->i += shift;
    g.Set(rg::kOrdinal, Int(kI16, static_cast<int64_t>(k)));
    for (TValue& c : g.Field(rg::kColumns)->elems) {
      if (TValue* off = c.Field(cc::kFileOffset)) off->i += shift;
      TValue* m = c.Field(cc::kMeta);
      for (int16_t id : {cmd::kDataPage, cmd::kDictionaryPage}) {
        if (TValue* off = m->Field(id); off && (id == cmd::kDataPage || off->i > 0))
          off->i += shift;
      }
    }
  }
  // Then the bloom filters, as the source had them after its row groups.
  for (size_t k = 0; k < count; k++) {
    const Footer::Group& where = footer_->groups[first + k];
    auto& cols = kept[k].Field(rg::kColumns)->elems;
    for (size_t c = 0; c < cols.size(); c++) {
      auto [off, n] = where.blooms[c];
      if (n <= 0) continue;
      if (!CopyRange(fd_, fd, off, n)) return fail("copying bloom filters");
      cols[c].Field(cc::kMeta)->Field(cmd::kBloomOffset)->i = pos;
      pos += n;
    }
  }
  all->elems = std::move(kept);
  meta.Set(fmd::kNumRows, Int(kI64, rows));
  if (metadata.empty()) {
    meta.Erase(fmd::kKeyValue);
  } else {
    TValue kv;
    kv.type = kList;
    kv.elem = kStruct;
    for (const auto& [k, v] : metadata) {
      TValue e;
      e.fields.emplace_back(1, Binary(k));
      e.fields.emplace_back(2, Binary(v));
      kv.elems.push_back(std::move(e));
    }
    meta.Set(fmd::kKeyValue, std::move(kv));
  }
  std::string footer;
  WriteStruct(&footer, meta);
  uint32_t len = static_cast<uint32_t>(footer.size());
  footer.append(reinterpret_cast<const char*>(&len), 4);
  footer.append("PAR1", 4);
  if (!WriteAll(fd, footer.data(), footer.size())) return fail("writing its footer");
  if (::close(fd) != 0) {
    ::unlink(out.c_str());
    return PosixAt(out, "closing");
  }
  return pos + static_cast<int64_t>(footer.size());
}

}  // namespace lakepack
