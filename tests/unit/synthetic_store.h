// SyntheticMinuteStore: a test-only ObjectStore of minute files that exist nowhere. Its List
// generates each page on the fly (prefix, '/' delimiter, continuation tokens and max_keys as
// object_store.h says), so that a listing of ten million keys costs a page of memory; it is how
// the plan-memory tests (tests/memory/) and the listing-narrowing unit tests see a big lake.
//
// Keys: "lake/db/t<NN>/<yyyy>/<MM>/<dd>/<HH>/m<mm>.parquet", one per minute, for `tables`
// tables and `days` days from 2000-01-01 (the seeds' default layout). Every object has the
// bytes of `payload` (a Parquet file, when footers are to be read; empty otherwise); reads serve
// them, writes fail.
#pragma once

#include <fmt/format.h>

#include <atomic>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "lakepack/object_store.h"

namespace lakepack::test_util {

class SyntheticMinuteStore final : public ObjectStore {
 public:
  SyntheticMinuteStore(int tables, int days, std::string payload = "")
      : tables_(tables), payload_(std::move(payload)) {
    // Days from 2000-01-01, proleptic Gregorian.
    int y = 2000, m = 1, d = 1;
    for (int i = 0; i < days; i++) {
      days_.push_back({y, m, d});
      static const int kLen[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
      int len = kLen[m - 1] + (m == 2 && leap ? 1 : 0);
      if (++d > len) {
        d = 1;
        if (++m > 12) {
          m = 1;
          y++;
        }
      }
    }
  }

  int64_t keys() const { return static_cast<int64_t>(tables_) * days_.size() * 24 * 60; }
  //! Listings asked for so far: (prefix, delimiter), when recording.
  std::vector<std::pair<std::string, std::string>> lists() const {
    std::lock_guard<std::mutex> lock(mu_);
    return lists_;
  }
  void Record(bool on) { record_ = on; }
  int64_t list_calls() const { return list_calls_; }
  //! Says its '/' listings cannot be trusted (as s3rver's), and refuses them.
  void NoDelimiter(bool on) { no_delimiter_ = on; }

  std::string Uri() const override { return "synthetic://lake"; }
  StoreCapabilities Capabilities() const override {
    StoreCapabilities caps;
    caps.delimiter_listing_reliable = !no_delimiter_;
    return caps;
  }

  Result<ListPage> List(const ListOptions& options) override {
    list_calls_++;
    if (no_delimiter_ && !options.delimiter.empty()) {
      return Status::InvalidArgument("synthetic store: no '/' listings");
    }
    if (record_) {
      std::lock_guard<std::mutex> lock(mu_);
      lists_.emplace_back(options.prefix, options.delimiter);
    }
    Lister l{*this, options, {}, 0, "", false};
    l.Dir("", 0, 0, 0, static_cast<int>(days_.size()));
    return std::move(l.page);
  }

  Result<std::optional<ObjectInfo>> Stat(std::string_view key) override {
    (void)key;
    return Status::InvalidArgument("synthetic store: Stat is not supported");
  }
  Result<std::string> Read(std::string_view key, ByteRange range) override {
    (void)key;
    if (range.whole()) return payload_;
    if (range.offset >= static_cast<int64_t>(payload_.size())) {
      return Status::InvalidArgument("synthetic store: range past the end");
    }
    return payload_.substr(range.offset, range.length < 0 ? std::string::npos : range.length);
  }
  Status ReadToFile(std::string_view, const std::string&, ByteRange) override {
    return Status::InvalidArgument("synthetic store: ReadToFile is not supported");
  }
  Result<ObjectInfo> WriteFromFile(std::string_view, const std::string&,
                                   const PutOptions&) override {
    return Status::InvalidArgument("synthetic store: read-only");
  }
  Result<ObjectInfo> Write(std::string_view, std::string_view, const PutOptions&) override {
    return Status::InvalidArgument("synthetic store: read-only");
  }
  Status Copy(std::string_view, std::string_view) override {
    return Status::InvalidArgument("synthetic store: read-only");
  }
  Status Delete(const std::vector<std::string>&) override {
    return Status::InvalidArgument("synthetic store: read-only");
  }

 private:
  struct Day {
    int y, m, d;
  };

  static bool StartsWith(const std::string& s, const std::string& p) {
    return s.compare(0, p.size(), p) == 0;
  }

  // One page: a depth-first walk of the generated tree in key order (every name at one depth
  // has the same width, so byte order is numeric order), pruned to the prefix and the token.
  struct Lister {
    const SyntheticMinuteStore& store;
    const ListOptions& o;
    ListPage page;
    int emitted;
    std::string last;
    bool done;

    bool Emit(const std::string& entry, bool is_prefix) {
      if (emitted == o.max_keys) {
        page.next_token = last;
        done = true;
        return false;
      }
      emitted++;
      last = entry;
      if (is_prefix) {
        page.common_prefixes.push_back(entry);
      } else {
        page.objects.push_back(
            ObjectInfo{entry, static_cast<int64_t>(store.payload_.size()), "e", 0, "", {}});
      }
      return true;
    }

    // `path` ("" or ending in '/') at tree depth `depth`; days [lo, hi) lie below it.
    void Dir(const std::string& path, int depth, int table, int lo, int hi) {
      if (done) return;
      if (!StartsWith(path, o.prefix) && !StartsWith(o.prefix, path)) return;
      const std::string& token = o.continuation_token;
      if (!token.empty() && path < token && !StartsWith(token, path)) return;  // all passed
      if (!o.delimiter.empty() && path.size() > o.prefix.size() && StartsWith(path, o.prefix) &&
          path.find('/', o.prefix.size()) == path.size() - 1) {
        if (token.empty() || path > token) Emit(path, true);
        return;
      }
      const auto& days = store.days_;
      switch (depth) {
        case 0:
          return Dir("lake/", 1, 0, lo, hi);
        case 1:
          return Dir(path + "db/", 2, 0, lo, hi);
        case 2:
          for (int t = 0; t < store.tables_ && !done; t++) {
            Dir(fmt::format("{}t{:02}/", path, t), 3, t, lo, hi);
          }
          return;
        case 3:  // years
        case 4:  // months
          for (int i = lo; i < hi && !done;) {
            int j = i;
            auto same = [&](int k) {
              return days[k].y == days[i].y && (depth == 3 || days[k].m == days[i].m);
            };
            while (j < hi && same(j)) j++;
            std::string name =
                depth == 3 ? fmt::format("{:04}/", days[i].y) : fmt::format("{:02}/", days[i].m);
            Dir(path + name, depth + 1, table, i, j);
            i = j;
          }
          return;
        case 5:  // days
          for (int i = lo; i < hi && !done; i++) {
            Dir(fmt::format("{}{:02}/", path, days[i].d), 6, table, i, i + 1);
          }
          return;
        case 6:  // hours
          for (int h = 0; h < 24 && !done; h++)
            Dir(fmt::format("{}{:02}/", path, h), 7, table, lo, hi);
          return;
        default:  // minute files
          for (int m = 0; m < 60 && !done; m++) {
            std::string key = fmt::format("{}m{:02}.parquet", path, m);
            if (!StartsWith(key, o.prefix) || (!token.empty() && key <= token)) continue;
            if (!Emit(key, false)) return;
          }
      }
    }
  };

  const int tables_;
  const std::string payload_;
  std::vector<Day> days_;
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> lists_;
  std::atomic<bool> record_{false};
  std::atomic<bool> no_delimiter_{false};
  std::atomic<int64_t> list_calls_{0};
};

}  // namespace lakepack::test_util
