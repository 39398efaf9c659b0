// Avro records through avro-c: the only file that includes avro.h, and the one place avro-c's
// errors become Status. Containers are lakepack's own (avro_container.cc); avro-c decodes and
// encodes the records inside a block, read from and written to memory.
#include "format/avro_codec.h"

#include <avro.h>
#include <fmt/format.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/strings.h"

namespace lakepack {

namespace {

using json = nlohmann::json;

std::string AvroError() {
  std::string e = avro_strerror();
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ' || e.back() == ':')) e.pop_back();
  return e.empty() ? "unknown avro-c error" : e;
}

// Owners of avro-c's reference-counted objects.
struct SchemaRef {
  avro_schema_t s = nullptr;
  ~SchemaRef() {
    if (s) avro_schema_decref(s);
  }
};
struct IfaceRef {
  avro_value_iface_t* i = nullptr;
  ~IfaceRef() {
    if (i) avro_value_iface_decref(i);
  }
};
struct ValueRef {
  avro_value_t v{};
  bool live = false;
  ValueRef() = default;
  ValueRef(const ValueRef&) = delete;
  ValueRef& operator=(const ValueRef&) = delete;
  ValueRef(ValueRef&& o) noexcept : v(o.v), live(o.live) { o.live = false; }
  ~ValueRef() {
    if (live) avro_value_decref(&v);
  }
};
struct ReaderRef {
  avro_reader_t r = nullptr;
  ~ReaderRef() {
    if (r) avro_reader_free(r);
  }
};
struct WriterRef {
  avro_writer_t w = nullptr;
  ~WriterRef() {
    if (w) avro_writer_free(w);
  }
};

Status ParseSchema(const std::string& schema_json, const std::string& name, SchemaRef* out) {
  if (avro_schema_from_json_length(schema_json.data(), schema_json.size(), &out->s) != 0) {
    out->s = nullptr;
    return Status::InvalidArgument(
        fmt::format("{}: the Avro schema does not parse: {}", name, AvroError()));
  }
  return Status::OK();
}

Status NewGenericValue(avro_schema_t schema, IfaceRef* iface, ValueRef* value,
                       const std::string& name) {
  iface->i = avro_generic_class_from_schema(schema);
  if (!iface->i || avro_generic_value_new(iface->i, &value->v) != 0) {
    return Status::InvalidArgument(fmt::format("{}: avro-c: {}", name, AvroError()));
  }
  value->live = true;
  return Status::OK();
}

// The number of fields of a record schema (avro-c has no function for it; a record value does).
Result<size_t> RecordSize(avro_schema_t record, const std::string& name) {
  IfaceRef iface;
  ValueRef value;
  LP_RETURN_IF_ERROR(NewGenericValue(record, &iface, &value, name));
  size_t n = 0;
  avro_value_get_size(&value.v, &n);
  return n;
}

// Sets `v` to the JSON default `def` of a field (the spec: a union's default is of its first
// branch; a null default also picks a "null" branch wherever it stands).
Status SetFromJson(avro_value_t* v, const json& def, const std::string& field) {
  auto bad = [&](std::string_view what) {
    return Status::InvalidArgument(
        fmt::format("field '{}': the default {} is not {}", field, def.dump(), what));
  };
  switch (avro_value_get_type(v)) {
    case AVRO_NULL:
      if (!def.is_null()) return bad("null");
      avro_value_set_null(v);
      return Status::OK();
    case AVRO_BOOLEAN:
      if (!def.is_boolean()) return bad("a boolean");
      avro_value_set_boolean(v, def.get<bool>());
      return Status::OK();
    case AVRO_INT32:
      if (!def.is_number_integer()) return bad("an int");
      avro_value_set_int(v, def.get<int32_t>());
      return Status::OK();
    case AVRO_INT64:
      if (!def.is_number_integer()) return bad("a long");
      avro_value_set_long(v, def.get<int64_t>());
      return Status::OK();
    case AVRO_FLOAT:
      if (!def.is_number()) return bad("a float");
      avro_value_set_float(v, def.get<float>());
      return Status::OK();
    case AVRO_DOUBLE:
      if (!def.is_number()) return bad("a double");
      avro_value_set_double(v, def.get<double>());
      return Status::OK();
    case AVRO_STRING: {
      if (!def.is_string()) return bad("a string");
      std::string s = def.get<std::string>();
      avro_value_set_string_len(v, s.c_str(), s.size() + 1);
      return Status::OK();
    }
    case AVRO_BYTES:
    case AVRO_FIXED: {
      if (!def.is_string()) return bad("a string of bytes");
      // JSON defaults of bytes are strings whose code points 0-255 are the bytes.
      std::string utf8 = def.get<std::string>(), bytes;
      for (size_t i = 0; i < utf8.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(utf8[i]);
        if (c < 0x80) {
          bytes += static_cast<char>(c);
        } else if ((c & 0xe0) == 0xc0 && c <= 0xc3 && i + 1 < utf8.size()) {
          bytes += static_cast<char>(((c & 0x1f) << 6) | (utf8[++i] & 0x3f));
        } else {
          return bad("a string of code points 0-255");
        }
      }
      if (avro_value_get_type(v) == AVRO_BYTES) {
        avro_value_set_bytes(v, bytes.data(), bytes.size());
      } else if (avro_value_set_fixed(v, bytes.data(), bytes.size()) != 0) {
        return bad("of the fixed size");
      }
      return Status::OK();
    }
    case AVRO_ENUM: {
      if (!def.is_string()) return bad("an enum symbol");
      int i =
          avro_schema_enum_get_by_name(avro_value_get_schema(v), def.get<std::string>().c_str());
      if (i < 0) return bad("a symbol of the enum");
      avro_value_set_enum(v, i);
      return Status::OK();
    }
    case AVRO_ARRAY: {
      if (!def.is_array()) return bad("an array");
      for (const auto& e : def) {
        avro_value_t child;
        if (avro_value_append(v, &child, nullptr) != 0) return bad("an array");
        LP_RETURN_IF_ERROR(SetFromJson(&child, e, field));
      }
      return Status::OK();
    }
    case AVRO_MAP: {
      if (!def.is_object()) return bad("a map");
      for (const auto& [k, e] : def.items()) {
        avro_value_t child;
        if (avro_value_add(v, k.c_str(), &child, nullptr, nullptr) != 0) return bad("a map");
        LP_RETURN_IF_ERROR(SetFromJson(&child, e, field));
      }
      return Status::OK();
    }
    case AVRO_RECORD: {
      if (!def.is_object()) return bad("a record");
      size_t n = 0;
      avro_value_get_size(v, &n);
      for (size_t i = 0; i < n; ++i) {
        avro_value_t child;
        const char* name = nullptr;
        avro_value_get_by_index(v, i, &child, &name);
        if (!def.contains(name)) return bad(fmt::format("a record with field '{}'", name));
        LP_RETURN_IF_ERROR(SetFromJson(&child, def[name], field));
      }
      return Status::OK();
    }
    case AVRO_UNION: {
      avro_schema_t u = avro_value_get_schema(v);
      int branch = 0;
      if (def.is_null()) {
        for (size_t i = 0; i < avro_schema_union_size(u); ++i) {
          if (avro_typeof(avro_schema_union_branch(u, static_cast<int>(i))) == AVRO_NULL) {
            branch = static_cast<int>(i);
          }
        }
      }
      avro_value_t child;
      if (avro_value_set_branch(v, branch, &child) != 0) return bad("of the union");
      return SetFromJson(&child, def, field);
    }
    default:
      break;
  }
  return bad("of a supported type");
}

// Decodes records of one input's writer schema into the output schema. For records (the usual
// case, and where schemas evolve) the resolution is lakepack's, field by field: avro-c's
// resolved writer has no defaults ("Reader field x doesn't appear in writer"), so an output
// field the input lacks would fail the input. Each field present in both is decoded through
// avro-c's resolved writer for that field's pair of schemas (promotions, unions, nesting);
// a field only the input has is decoded and dropped; a field only the output has is set once
// from its default. Each output field is a value of its own, written in the output's order:
// a record's encoding is its fields' encodings one after another. (A resolved writer takes a
// reference to its destination, which the children of a generic record cannot give.)
class Resolver {
 public:
  static Result<std::unique_ptr<Resolver>> Make(avro_schema_t writer, avro_schema_t reader,
                                                const json& reader_json, const std::string& name) {
    std::unique_ptr<Resolver> r(new Resolver);
    const bool records = avro_typeof(writer) == AVRO_RECORD && avro_typeof(reader) == AVRO_RECORD;
    if (!records) {
      r->outputs_.resize(1);
      LP_RETURN_IF_ERROR(r->NewOutput(reader, 0, name));
      LP_RETURN_IF_ERROR(r->AddResolved(writer, reader, 0, name, ""));
      return r;
    }
    LP_ASSIGN_OR_RETURN(const size_t wn, RecordSize(writer, name));
    LP_ASSIGN_OR_RETURN(const size_t rn, RecordSize(reader, name));
    r->outputs_.resize(rn);
    for (size_t ri = 0; ri < rn; ++ri) {
      LP_RETURN_IF_ERROR(r->NewOutput(
          avro_schema_record_field_get_by_index(reader, static_cast<int>(ri)), ri, name));
    }
    std::vector<bool> filled(rn, false);
    for (size_t wi = 0; wi < wn; ++wi) {
      const char* fname = avro_schema_record_field_name(writer, static_cast<int>(wi));
      avro_schema_t wfield = avro_schema_record_field_get_by_index(writer, static_cast<int>(wi));
      int ri = avro_schema_record_field_get_index(reader, fname);
      if (ri < 0) {
        LP_RETURN_IF_ERROR(r->AddDropped(wfield, name));
        continue;
      }
      LP_RETURN_IF_ERROR(r->AddResolved(wfield, avro_schema_record_field_get_by_index(reader, ri),
                                        static_cast<size_t>(ri), name, fname));
      filled[ri] = true;
    }
    const json* fields = reader_json.is_object() && reader_json.contains("fields")
                             ? &reader_json["fields"]
                             : nullptr;
    for (size_t ri = 0; ri < rn; ++ri) {
      if (filled[ri]) continue;
      const char* fname = avro_schema_record_field_name(reader, static_cast<int>(ri));
      const json* def = nullptr;
      if (fields && fields->is_array() && ri < fields->size() && (*fields)[ri].is_object() &&
          (*fields)[ri].contains("default")) {
        def = &(*fields)[ri]["default"];
      }
      if (!def) {
        return Status::InvalidArgument(fmt::format(
            "{}: field '{}' of the output schema is not in this file's schema and has no default",
            name, fname));
      }
      LP_RETURN_IF_ERROR(SetFromJson(&r->outputs_[ri].v, *def, fname).WithContext(name));
    }
    return r;
  }

  //! Decodes one record from `reader`; avro-c's error code, 0 when it decoded.
  int Read(avro_reader_t reader) {
    for (auto& s : steps_) {
      int rc = avro_value_read(reader, &s->v);
      if (rc != 0) return rc;
    }
    return 0;
  }
  //! The output record's fields, in the output schema's order.
  std::vector<ValueRef>& outputs() { return outputs_; }

 private:
  Resolver() = default;

  Status NewOutput(avro_schema_t schema, size_t index, const std::string& name) {
    ifaces_.push_back(std::make_unique<IfaceRef>());
    return NewGenericValue(schema, ifaces_.back().get(), &outputs_[index], name);
  }

  Status AddResolved(avro_schema_t w, avro_schema_t r, size_t out_index, const std::string& name,
                     const char* field) {
    auto iface = std::make_unique<IfaceRef>();
    iface->i = avro_resolved_writer_new(w, r);
    if (!iface->i) {
      std::string where = *field ? fmt::format("field '{}'", field) : std::string("the schema");
      return Status::InvalidArgument(fmt::format(
          "{}: {} does not resolve into the output schema: {}", name, where, AvroError()));
    }
    auto value = std::make_unique<ValueRef>();
    if (avro_resolved_writer_new_value(iface->i, &value->v) != 0) {
      return Status::InvalidArgument(fmt::format("{}: avro-c: {}", name, AvroError()));
    }
    value->live = true;
    avro_resolved_writer_set_dest(&value->v, &outputs_[out_index].v);
    ifaces_.push_back(std::move(iface));
    steps_.push_back(std::move(value));
    return Status::OK();
  }

  Status AddDropped(avro_schema_t w, const std::string& name) {
    auto iface = std::make_unique<IfaceRef>();
    auto value = std::make_unique<ValueRef>();
    LP_RETURN_IF_ERROR(NewGenericValue(w, iface.get(), value.get(), name));
    ifaces_.push_back(std::move(iface));
    steps_.push_back(std::move(value));
    return Status::OK();
  }

  // Declared first so they outlive the values made from them.
  std::vector<std::unique_ptr<IfaceRef>> ifaces_;
  std::vector<ValueRef> outputs_;                 // one per output field
  std::vector<std::unique_ptr<ValueRef>> steps_;  // in the writer's field order
};

// The records of one block, decoded one at a time from memory by `decode`; afterwards the
// block must have no bytes left (a count that disagrees with the data is corruption).
template <typename Decode>
Status DecodeBlock(const AvroBlock& block, const std::string& path, avro_reader_t reader,
                   Decode decode) {
  std::string_view bytes = block.records();
  avro_reader_memory_set_source(reader, bytes.data(), static_cast<int64_t>(bytes.size()));
  for (int64_t i = 0; i < block.count; ++i) {
    int rc = decode();
    if (rc != 0) {
      return Status::Corruption(fmt::format("{}: block at byte {}: record {} of {}: {}", path,
                                            block.offset, i + 1, block.count, AvroError()));
    }
  }
  char extra;
  if (avro_read(reader, &extra, 1) == 0) {
    return Status::Corruption(
        fmt::format("{}: block at byte {}: bytes left after its {} records (corrupt data or a "
                    "wrong object count)",
                    path, block.offset, block.count));
  }
  return Status::OK();
}

// Gathers encoded records into blocks of about `block_bytes` for one container writer.
class BlockEncoder {
 public:
  BlockEncoder(AvroContainerWriter* out, int64_t block_bytes)
      : out_(out), block_bytes_(static_cast<size_t>(std::max<int64_t>(block_bytes, 1))) {
    buf_.resize(block_bytes_ + (64 << 10));
    writer_.w = avro_writer_memory(buf_.data(), static_cast<int64_t>(buf_.size()));
  }

  //! Adds one record, the encodings of `values` one after another (a record's fields).
  Status Add(std::vector<ValueRef>& values) {
    for (;;) {
      avro_writer_memory_set_dest(writer_.w, buf_.data() + used_,
                                  static_cast<int64_t>(buf_.size() - used_));
      int rc = 0;
      for (auto& v : values) {
        rc = avro_value_write(writer_.w, &v.v);
        if (rc != 0) break;
      }
      if (rc == 0) {
        used_ += static_cast<size_t>(avro_writer_tell(writer_.w));
        ++count_;
        return used_ >= block_bytes_ ? Flush() : Status::OK();
      }
      if (rc != ENOSPC) {
        return Status::InvalidArgument(
            fmt::format("{}: cannot encode a record: {}", out_->path(), AvroError()));
      }
      // The record does not fit: close the block, or grow the buffer for one large record.
      if (used_ > 0) {
        LP_RETURN_IF_ERROR(Flush());
      } else {
        buf_.resize(buf_.size() * 2);
      }
    }
  }

  //! Adds `count` records already in the binary encoding (of the output schema).
  Status AddEncoded(int64_t count, std::string_view bytes) {
    if (used_ + bytes.size() > buf_.size()) {
      LP_RETURN_IF_ERROR(Flush());
      if (bytes.size() > buf_.size()) buf_.resize(bytes.size());
    }
    std::memcpy(buf_.data() + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
    count_ += count;
    return used_ >= block_bytes_ ? Flush() : Status::OK();
  }

  Status Flush() {
    if (count_ == 0) return Status::OK();
    LP_RETURN_IF_ERROR(out_->AppendRecords(count_, std::string_view(buf_.data(), used_)));
    used_ = 0;
    count_ = 0;
    return Status::OK();
  }

 private:
  AvroContainerWriter* out_;
  size_t block_bytes_;
  std::string buf_;
  size_t used_ = 0;
  int64_t count_ = 0;
  WriterRef writer_;
};

std::string Hex(const AvroSync& s) {
  std::string out;
  for (uint8_t b : s) out += fmt::format("{:02x}", b);
  return out;
}

// --- JSON rendering -----------------------------------------------------------------------

void AppendJsonString(std::string* out, std::string_view s) {
  *out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Bytes as the Avro JSON encoding writes them: each byte is the code point of its value.
void AppendJsonBytes(std::string* out, const void* buf, size_t n) {
  std::string utf8;
  const auto* p = static_cast<const unsigned char*>(buf);
  for (size_t i = 0; i < n; ++i) {
    if (p[i] < 0x80) {
      utf8 += static_cast<char>(p[i]);
    } else {
      utf8 += static_cast<char>(0xc0 | (p[i] >> 6));
      utf8 += static_cast<char>(0x80 | (p[i] & 0x3f));
    }
  }
  AppendJsonString(out, utf8);
}

void AppendJsonDouble(std::string* out, double d) {
  if (!std::isfinite(d)) {
    *out += "null";  // JSON has no NaN or infinity
    return;
  }
  *out += json(d).dump();  // always with a '.' or an exponent, so it reads back as a double
}

int AppendJson(std::string* out, avro_value_t* v) {
  switch (avro_value_get_type(v)) {
    case AVRO_NULL:
      *out += "null";
      return 0;
    case AVRO_BOOLEAN: {
      int b = 0;
      avro_value_get_boolean(v, &b);
      *out += b ? "true" : "false";
      return 0;
    }
    case AVRO_INT32: {
      int32_t i = 0;
      avro_value_get_int(v, &i);
      *out += std::to_string(i);
      return 0;
    }
    case AVRO_INT64: {
      int64_t i = 0;
      avro_value_get_long(v, &i);
      *out += std::to_string(i);
      return 0;
    }
    case AVRO_FLOAT: {
      float f = 0;
      avro_value_get_float(v, &f);
      AppendJsonDouble(out, f);
      return 0;
    }
    case AVRO_DOUBLE: {
      double d = 0;
      avro_value_get_double(v, &d);
      AppendJsonDouble(out, d);
      return 0;
    }
    case AVRO_STRING: {
      const char* s = nullptr;
      size_t n = 0;  // includes the terminating NUL
      avro_value_get_string(v, &s, &n);
      AppendJsonString(out, std::string_view(s ? s : "", n ? n - 1 : 0));
      return 0;
    }
    case AVRO_BYTES: {
      const void* b = nullptr;
      size_t n = 0;
      avro_value_get_bytes(v, &b, &n);
      AppendJsonBytes(out, b, n);
      return 0;
    }
    case AVRO_FIXED: {
      const void* b = nullptr;
      size_t n = 0;
      avro_value_get_fixed(v, &b, &n);
      AppendJsonBytes(out, b, n);
      return 0;
    }
    case AVRO_ENUM: {
      int i = 0;
      avro_value_get_enum(v, &i);
      const char* sym = avro_schema_enum_get(avro_value_get_schema(v), i);
      AppendJsonString(out, sym ? sym : "");
      return 0;
    }
    case AVRO_ARRAY: {
      size_t n = 0;
      avro_value_get_size(v, &n);
      *out += '[';
      for (size_t i = 0; i < n; ++i) {
        avro_value_t child;
        avro_value_get_by_index(v, i, &child, nullptr);
        if (i) *out += ',';
        if (int rc = AppendJson(out, &child)) return rc;
      }
      *out += ']';
      return 0;
    }
    case AVRO_MAP:
    case AVRO_RECORD: {
      size_t n = 0;
      avro_value_get_size(v, &n);
      *out += '{';
      for (size_t i = 0; i < n; ++i) {
        avro_value_t child;
        const char* name = nullptr;
        avro_value_get_by_index(v, i, &child, &name);
        if (i) *out += ',';
        AppendJsonString(out, name ? name : "");
        *out += ':';
        if (int rc = AppendJson(out, &child)) return rc;
      }
      *out += '}';
      return 0;
    }
    case AVRO_UNION: {
      avro_value_t branch;
      if (avro_value_get_current_branch(v, &branch) != 0) return EINVAL;
      return AppendJson(out, &branch);
    }
    default:
      break;
  }
  return EINVAL;
}

struct FileCloser {
  std::FILE* f = nullptr;
  ~FileCloser() {
    if (f) std::fclose(f);
  }
};

}  // namespace

namespace {

// Inputs are opened, and the blocks of a copied input read and checked (sync, CRC, inflate),
// by a few threads ahead of the writer, which appends them in order (InputPipeline): the
// checks, not the copy, are the cost of a block copy. At most kAheadInputs inputs past the one
// being written are open, holding at most kAheadBytes of preloaded blocks; an input that does
// not fit in what is left is read by the writer as it goes.
constexpr size_t kAheadInputs = 64;
constexpr int64_t kAheadBytes = 64 << 20;
constexpr int kCheckThreads = 4;

struct OpenedInput {
  Status status;
  std::unique_ptr<AvroBlockReader> reader;
  bool same_schema = false;
  bool copy = false;
  bool preloaded = false;
  int64_t reserved = 0;           // bytes of the budget it holds
  std::vector<AvroBlock> blocks;  // when preloaded: every block, payload only
  int64_t records = 0;
};

// The canonical form of each writer schema seen, shared by the threads of a window.
class CanonicalCache {
 public:
  Result<std::string> Of(const std::string& schema_json) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = canon_.find(schema_json);
      if (it != canon_.end()) return it->second;
    }
    LP_ASSIGN_OR_RETURN(std::string c, CanonicalSchema(schema_json));
    std::lock_guard<std::mutex> lock(mu_);
    return canon_.emplace(schema_json, std::move(c)).first->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> canon_;
};

// The top-level field names of a record schema (empty for other schemas).
std::set<std::string> TopFieldNames(const json& schema) {
  std::set<std::string> names;
  if (schema.is_object() && schema.contains("fields") && schema["fields"].is_array()) {
    for (const auto& f : schema["fields"]) {
      if (f.is_object() && f.contains("name") && f["name"].is_string()) {
        names.insert(f["name"].get<std::string>());
      }
    }
  }
  return names;
}

void OpenInput(const AvroSource& in, const std::string& out_canon, AvroCodec out_codec,
               CanonicalCache& canon, std::atomic<int64_t>& budget, OpenedInput* o) {
  auto reader = AvroBlockReader::Open(in.path);
  if (!reader.ok()) {
    o->status = reader.status();
    return;
  }
  o->reader = std::move(*reader);
  auto c = canon.Of(o->reader->header().schema_json);
  if (!c.ok()) {
    o->status = c.status().WithContext(in.path);
    return;
  }
  o->same_schema = *c == out_canon;
  o->copy = o->same_schema && o->reader->codec() == out_codec;
  const int64_t size = o->reader->header().file_size;
  if (!o->copy) return;
  int64_t left = budget.load();
  while (left >= size && !budget.compare_exchange_weak(left, left - size)) {
  }
  if (left < size) return;
  o->reserved = size;
  AvroBlock block;
  for (;;) {
    auto more = o->reader->Next(&block);
    if (!more.ok()) {
      o->status = more.status();
      return;
    }
    if (!*more) break;
    o->records += block.count;
    AvroBlock kept;
    kept.count = block.count;
    kept.payload.swap(block.payload);
    o->blocks.push_back(std::move(kept));
  }
  o->preloaded = true;
}

// The threads that open inputs ahead of the writer (see kAheadInputs). Take(n) waits for input
// n; Done(n) frees its slot and budget. Destroying it stops and joins the threads.
class InputPipeline {
 public:
  InputPipeline(const std::vector<AvroSource>& inputs, const std::string& out_canon,
                AvroCodec out_codec)
      : inputs_(inputs),
        out_canon_(out_canon),
        out_codec_(out_codec),
        slots_(inputs.size()),
        ready_(inputs.size(), 0) {
    const int n = std::max(1, std::min<int>(kCheckThreads, std::thread::hardware_concurrency()));
    for (int t = 0; t < n; ++t) threads_.emplace_back([this] { Work(); });
  }
  ~InputPipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  InputPipeline(const InputPipeline&) = delete;
  InputPipeline& operator=(const InputPipeline&) = delete;

  OpenedInput& Take(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return ready_[n] != 0; });
    return slots_[n];
  }
  void Done(size_t n) {
    budget_ += slots_[n].reserved;
    slots_[n] = OpenedInput();
    {
      std::lock_guard<std::mutex> lock(mu_);
      consumed_ = n + 1;
    }
    cv_.notify_all();
  }

 private:
  void Work() {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] {
          return stop_ || next_ >= inputs_.size() || next_ < consumed_ + kAheadInputs;
        });
        if (stop_ || next_ >= inputs_.size()) return;
        i = next_++;
      }
      OpenInput(inputs_[i], out_canon_, out_codec_, canon_, budget_, &slots_[i]);
      {
        std::lock_guard<std::mutex> lock(mu_);
        ready_[i] = 1;
      }
      cv_.notify_all();
    }
  }

  const std::vector<AvroSource>& inputs_;
  const std::string& out_canon_;
  const AvroCodec out_codec_;
  CanonicalCache canon_;
  std::atomic<int64_t> budget_{kAheadBytes};
  std::vector<OpenedInput> slots_;  // slot i is written by one thread, then read by the writer
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<char> ready_;
  size_t next_ = 0;      // the next input to open
  size_t consumed_ = 0;  // inputs the writer is done with
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

Result<int64_t> ConcatAvro(const std::vector<AvroSource>& inputs, const AvroWriteSpec& out,
                           AvroConcatStats* stats) {
  if (stats) stats->inputs.assign(inputs.size(), {});
  SchemaRef out_schema;
  LP_RETURN_IF_ERROR(ParseSchema(out.schema_json, out.path + ": the output schema", &out_schema));
  LP_ASSIGN_OR_RETURN(std::string out_canon, CanonicalSchema(out.schema_json));
  const json out_json = json::parse(out.schema_json, nullptr, false);
  const std::set<std::string> out_fields = TopFieldNames(out_json);
  LP_ASSIGN_OR_RETURN(
      auto writer, AvroContainerWriter::Create(out.path, out.schema_json, out.codec, out.metadata));
  BlockEncoder encoder(writer.get(), out.block_bytes);
  ReaderRef memory;
  memory.r = avro_reader_memory(nullptr, 0);
  InputPipeline pipeline(inputs, out_canon, out.codec);

  for (size_t n = 0; n < inputs.size(); ++n) {
    const AvroSource& in = inputs[n];
    OpenedInput& o = pipeline.Take(n);
    const std::string& shown = in.display_name.empty() ? in.path : in.display_name;
    auto fail = [&](const Status& st) { return ShowPathAs(st, in.path, shown); };
    if (!o.status.ok()) return fail(o.status);
    AvroConcatStats::Input st;
    st.copied = o.copy;
    if (o.preloaded) {
      LP_RETURN_IF_ERROR(encoder.Flush());
      for (const auto& b : o.blocks) {
        LP_RETURN_IF_ERROR(writer->AppendBlock(b.count, b.payload));
      }
      st.records = o.records;
      st.blocks = static_cast<int64_t>(o.blocks.size());
      pipeline.Done(n);
      if (stats) stats->inputs[n] = st;
      continue;
    }
    AvroBlockReader& reader = *o.reader;
    const AvroHeader& h = reader.header();
    AvroBlock block;
    if (o.copy) {
      // Too large to preload: blocks as stored, each checked by the block reader.
      LP_RETURN_IF_ERROR(encoder.Flush());
      for (;;) {
        auto more = reader.Next(&block);
        if (!more.ok()) return fail(more.status());
        if (!*more) break;
        LP_RETURN_IF_ERROR(writer->AppendBlock(block.count, block.payload));
        st.records += block.count;
        ++st.blocks;
      }
    } else {
      if (out.keep_all_fields && !o.same_schema) {
        for (const auto& f : TopFieldNames(json::parse(h.schema_json, nullptr, false))) {
          if (!out_fields.count(f)) {
            return Status::InvalidArgument(
                fmt::format("{}: field '{}' is not in the output schema (of {}); it would be lost",
                            shown, f, out.schema_source.empty() ? out.path : out.schema_source));
          }
        }
      }
      SchemaRef in_schema;
      LP_RETURN_IF_ERROR(fail(ParseSchema(h.schema_json, in.path, &in_schema)));
      // Same schema, other codec: records are validated by decoding them, then their bytes
      // are re-blocked as they are (the encoding is the same). Else resolved and re-encoded.
      IfaceRef check_iface;
      ValueRef check;
      std::unique_ptr<Resolver> resolver;
      if (o.same_schema) {
        LP_RETURN_IF_ERROR(fail(NewGenericValue(in_schema.s, &check_iface, &check, in.path)));
      } else {
        auto r = Resolver::Make(in_schema.s, out_schema.s, out_json, in.path);
        if (!r.ok()) return fail(r.status());
        resolver = std::move(*r);
      }
      for (;;) {
        auto more = reader.Next(&block);
        if (!more.ok()) return fail(more.status());
        if (!*more) break;
        if (o.same_schema) {
          LP_RETURN_IF_ERROR(fail(DecodeBlock(
              block, in.path, memory.r, [&] { return avro_value_read(memory.r, &check.v); })));
          LP_RETURN_IF_ERROR(encoder.AddEncoded(block.count, block.records()));
        } else {
          Status encoded;
          Status decoded = DecodeBlock(block, in.path, memory.r, [&]() -> int {
            int rc = resolver->Read(memory.r);
            if (rc == 0) {
              encoded = encoder.Add(resolver->outputs());
              if (!encoded.ok()) return EINVAL;
            }
            return rc;
          });
          // A failed write stops the decoding too: it is the error to report, not the
          // decoder's.
          LP_RETURN_IF_ERROR(encoded);
          LP_RETURN_IF_ERROR(fail(decoded));
        }
        st.records += block.count;
        ++st.blocks;
      }
    }
    pipeline.Done(n);
    if (stats) stats->inputs[n] = st;
  }
  LP_RETURN_IF_ERROR(encoder.Flush());
  const int64_t records = writer->records();
  LP_RETURN_IF_ERROR(writer->Finish());
  return records;
}

Result<AvroFileInfo> InspectAvro(const std::string& path) {
  LP_ASSIGN_OR_RETURN(auto reader, AvroBlockReader::Open(path));
  const AvroHeader& h = reader->header();
  AvroFileInfo info;
  info.schema_json = h.schema_json;
  info.codec = h.codec;
  info.metadata = h.metadata;
  info.size_bytes = h.file_size;
  info.sync_hex = Hex(h.sync);
  LP_ASSIGN_OR_RETURN(info.fields, AvroRecordFields(h.schema_json));
  SchemaRef schema;
  LP_RETURN_IF_ERROR(ParseSchema(h.schema_json, path, &schema));
  IfaceRef iface;
  ValueRef value;
  LP_RETURN_IF_ERROR(NewGenericValue(schema.s, &iface, &value, path));
  ReaderRef memory;
  memory.r = avro_reader_memory(nullptr, 0);
  AvroBlock block;
  for (;;) {
    LP_ASSIGN_OR_RETURN(bool more, reader->Next(&block));
    if (!more) break;
    LP_RETURN_IF_ERROR(
        DecodeBlock(block, path, memory.r, [&] { return avro_value_read(memory.r, &value.v); }));
    ++info.blocks;
    info.records += block.count;
  }
  return info;
}

Result<int64_t> AvroToJsonLines(const std::string& path, const std::string& out_jsonl_path) {
  LP_ASSIGN_OR_RETURN(auto reader, AvroBlockReader::Open(path));
  const AvroHeader& h = reader->header();
  SchemaRef schema;
  LP_RETURN_IF_ERROR(ParseSchema(h.schema_json, path, &schema));
  IfaceRef iface;
  ValueRef value;
  LP_RETURN_IF_ERROR(NewGenericValue(schema.s, &iface, &value, path));
  const bool record = avro_typeof(schema.s) == AVRO_RECORD;
  FileCloser f;
  f.f = std::fopen(out_jsonl_path.c_str(), "wb");
  if (!f.f) return PosixError(out_jsonl_path, errno);
  auto remove = [&](Status s) {
    std::fclose(f.f);
    f.f = nullptr;
    ::unlink(out_jsonl_path.c_str());
    return s;
  };
  ReaderRef memory;
  memory.r = avro_reader_memory(nullptr, 0);
  AvroBlock block;
  std::string line;
  int64_t records = 0;
  for (;;) {
    auto more = reader->Next(&block);
    if (!more.ok()) return remove(more.status());
    if (!*more) break;
    Status written;
    Status decoded = DecodeBlock(block, path, memory.r, [&]() -> int {
      int rc = avro_value_read(memory.r, &value.v);
      if (rc != 0) return rc;
      line.clear();
      if (!record) line += "{\"value\":";
      rc = AppendJson(&line, &value.v);
      if (rc != 0) return rc;
      line += record ? "\n" : "}\n";
      if (std::fwrite(line.data(), 1, line.size(), f.f) != line.size()) {
        written = PosixError(out_jsonl_path + ": write", errno);
        return EIO;
      }
      return 0;
    });
    if (!written.ok()) return remove(written);
    if (!decoded.ok()) return remove(decoded);
    records += block.count;
  }
  if (std::fflush(f.f) != 0) return remove(PosixError(out_jsonl_path + ": write", errno));
  if (std::fclose(f.f) != 0) {
    f.f = nullptr;
    ::unlink(out_jsonl_path.c_str());
    return PosixError(out_jsonl_path + ": close", errno);
  }
  f.f = nullptr;
  return records;
}

}  // namespace lakepack
