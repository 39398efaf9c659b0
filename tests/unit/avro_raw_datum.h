// Test data for the Avro layer: SiteWise's RawDatum schema (research.md 1.2), a second version
// of it (fields reordered, one nullable field added), and their records encoded by hand in the
// Avro binary encoding, so that tests need no Avro library of their own.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "format/avro_container.h"

namespace lakepack::test_util {

inline std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

inline void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

//! One JSON value per non-blank line of a JSON-lines file.
inline std::vector<nlohmann::json> ReadJsonLines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::istringstream in(ReadAll(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

inline const std::string kRawDatumSchema =
    R"({"type":"record","name":"RawDatum","namespace":"amazon.aws.iot.sitewise.raw","fields":[
 {"type":"string","name":"seriesId"},
 {"type":"long","name":"timeInSeconds"},
 {"type":"long","name":"offsetInNanos"},
 {"type":"string","name":"quality"},
 {"type":["null","double"],"name":"doubleValue","default":null},
 {"type":["null","string"],"name":"stringValue","default":null},
 {"type":["null","int"],"name":"integerValue","default":null},
 {"type":["null","boolean"],"name":"booleanValue","default":null},
 {"type":["null","string"],"name":"jsonValue","default":null},
 {"type":["null","long"],"name":"recordVersion","default":null}]})";

//! RawDatum with its fields in another order and an extra nullable field "unit".
inline const std::string kRawDatumV2Schema =
    R"({"type":"record","name":"RawDatum","namespace":"amazon.aws.iot.sitewise.raw","fields":[
 {"type":"long","name":"timeInSeconds"},
 {"type":"string","name":"seriesId"},
 {"type":["null","string"],"name":"unit","default":null},
 {"type":"long","name":"offsetInNanos"},
 {"type":"string","name":"quality"},
 {"type":["null","long"],"name":"recordVersion","default":null},
 {"type":["null","double"],"name":"doubleValue","default":null},
 {"type":["null","string"],"name":"stringValue","default":null},
 {"type":["null","int"],"name":"integerValue","default":null},
 {"type":["null","boolean"],"name":"booleanValue","default":null},
 {"type":["null","string"],"name":"jsonValue","default":null}]})";

struct RawDatum {
  std::string series_id;
  int64_t time_s = 0;
  int64_t offset_ns = 0;
  std::string quality = "GOOD";
  std::optional<double> double_value;
  std::optional<std::string> string_value;
  std::optional<int32_t> integer_value;
  std::optional<bool> boolean_value;
  std::optional<std::string> json_value;
  std::optional<int64_t> record_version;
  std::optional<std::string> unit;  // V2 only
};

//! Record i of a deterministic series: ids with '_' as SiteWise has them, a mix of value kinds.
inline RawDatum SampleDatum(int64_t i) {
  RawDatum d;
  d.series_id = "7020c8e2-e6db-40fa-9845-ed0dddd4c77d_prop" + std::to_string(i % 7);
  d.time_s = 1609459200 + i;
  d.offset_ns = (i * 1000) % 1000000000;
  d.quality = i % 11 == 0 ? "BAD" : "GOOD";
  if (i % 4 == 0) d.double_value = static_cast<double>(i) * 0.5;
  if (i % 4 == 1) d.string_value = "s" + std::to_string(i);
  if (i % 4 == 2) d.integer_value = static_cast<int32_t>(i);
  if (i % 4 == 3) d.boolean_value = i % 8 == 3;
  if (i % 13 == 0) d.json_value = "{\"k\":" + std::to_string(i) + "}";
  if (i % 5 == 0) d.record_version = i;
  return d;
}

namespace avro_enc {
inline void Long(std::string* out, int64_t v) { AppendAvroLong(out, v); }
inline void Str(std::string* out, const std::string& s) {
  Long(out, static_cast<int64_t>(s.size()));
  *out += s;
}
inline void Double(std::string* out, double d) {
  char b[8];
  std::memcpy(b, &d, 8);  // little-endian on the machines lakepack builds for
  out->append(b, 8);
}
template <typename T, typename F>
void Opt(std::string* out, const std::optional<T>& v, F put) {
  Long(out, v ? 1 : 0);  // branch 1 is the value, branch 0 null
  if (v) put(out, *v);
}
}  // namespace avro_enc

//! The binary encoding of `d` in kRawDatumSchema (v2 false) or kRawDatumV2Schema (v2 true).
inline std::string EncodeDatum(const RawDatum& d, bool v2 = false) {
  using namespace avro_enc;
  std::string o;
  auto dbl = [](std::string* out, double v) { Double(out, v); };
  auto str = [](std::string* out, const std::string& v) { Str(out, v); };
  auto lng = [](std::string* out, int64_t v) { Long(out, v); };
  auto boo = [](std::string* out, bool v) { out->push_back(v ? 1 : 0); };
  if (!v2) {
    Str(&o, d.series_id);
    Long(&o, d.time_s);
    Long(&o, d.offset_ns);
    Str(&o, d.quality);
    Opt(&o, d.double_value, dbl);
    Opt(&o, d.string_value, str);
    Opt(&o, d.integer_value, lng);
    Opt(&o, d.boolean_value, boo);
    Opt(&o, d.json_value, str);
    Opt(&o, d.record_version, lng);
  } else {
    Long(&o, d.time_s);
    Str(&o, d.series_id);
    Opt(&o, d.unit, str);
    Long(&o, d.offset_ns);
    Str(&o, d.quality);
    Opt(&o, d.record_version, lng);
    Opt(&o, d.double_value, dbl);
    Opt(&o, d.string_value, str);
    Opt(&o, d.integer_value, lng);
    Opt(&o, d.boolean_value, boo);
    Opt(&o, d.json_value, str);
  }
  return o;
}

//! Writes `blocks` blocks of `per_block` sample records (numbered from `first`) to a new file.
inline Status WriteSampleAvro(const std::string& path, AvroCodec codec, int64_t first, int blocks,
                              int per_block, bool v2 = false, const AvroMetadata& metadata = {}) {
  auto w =
      AvroContainerWriter::Create(path, v2 ? kRawDatumV2Schema : kRawDatumSchema, codec, metadata);
  if (!w.ok()) return w.status();
  int64_t i = first;
  for (int b = 0; b < blocks; ++b) {
    std::string records;
    for (int r = 0; r < per_block; ++r) {
      RawDatum d = SampleDatum(i++);
      if (v2 && i % 2 == 0) d.unit = "kW";
      records += EncodeDatum(d, v2);
    }
    LP_RETURN_IF_ERROR((*w)->AppendRecords(per_block, records));
  }
  return (*w)->Finish();
}

}  // namespace lakepack::test_util
