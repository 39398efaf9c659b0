// GetObject: into memory, or streamed into a local file, whole or by byte range. Large
// downloads go as parallel ranged GETs, each retried on its own, so a dropped connection
// costs one part rather than the whole object.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "store/s3/errors.h"
#include "store/s3/operations.h"
#include "store/store_util.h"

namespace lakepack::s3 {

namespace {

Status CheckOffset(const std::string& bucket, const std::string& key, const ByteRange& range) {
  if (range.offset < 0) {
    return Status::InvalidArgument(S3Client::UriOf(bucket, key) + ": byte range offset " +
                                   std::to_string(range.offset) + " is negative");
  }
  return Status::OK();
}

Status PastTheEnd(const std::string& bucket, const std::string& key, int64_t offset, int64_t size,
                  const std::string& detail) {
  std::string msg = S3Client::UriOf(bucket, key) + ": byte range starts at " +
                    std::to_string(offset) + ", past the end of the ";
  msg += size >= 0 ? std::to_string(size) + "-byte object" : "object";
  if (!detail.empty()) msg += " (" + detail + ")";
  return Status::InvalidArgument(msg);
}

// 416 Range Not Satisfiable: the first byte asked for does not exist.
Status RangeRefused(S3Client& client, const S3Request& req, const HttpResponse& resp,
                    int64_t offset) {
  std::optional<ContentRange> cr = ParseContentRange(resp.Header("content-range"));
  S3Error error = ParseS3Error(resp.body);
  std::string what =
      resp.stopped
          ? "206 with Content-Range '" + resp.Header("content-range") + "'"
          : "416 " + (error.code.empty() ? std::string("Range Not Satisfiable") : error.code);
  return PastTheEnd(req.bucket, req.key, offset, cr ? cr->total : -1,
                    what + " from " + client.EndpointFor(req.bucket));
}

// A zero-length range reads nothing, but must still fail like any other read would:
// "bytes=10-9" is not a range S3 understands, so ask HEAD instead.
Status CheckEmptyRange(S3Client& client, const std::string& bucket, const std::string& key,
                       int64_t offset) {
  LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, HeadObject(client, bucket, key));
  if (!info) return Status::NotFound(S3Client::UriOf(bucket, key) + ": no such object");
  if (offset >= info->size) return PastTheEnd(bucket, key, offset, info->size, "");
  return Status::OK();
}

// "206, Content-Range: bytes 0-0/0": a range past the end answered as if it were
// satisfiable (s3rver does this for empty objects, with a Content-Length of bytes it never
// sends). Treated like 416, and the transfer stopped before waiting for the phantom body.
bool UnsatisfiableRange(const HttpResponse& resp) {
  if (resp.status != 206) return false;
  std::optional<ContentRange> cr = ParseContentRange(resp.Header("content-range"));
  return cr && cr->total >= 0 && cr->first >= cr->total;
}

S3Request GetRequest(const std::string& bucket, const std::string& key) {
  S3Request req;
  req.kind = RequestKind::kGet;
  req.method = "GET";
  req.bucket = bucket;
  req.key = key;
  req.check_headers = [](const HttpResponse& resp) { return !UnsatisfiableRange(resp); };
  return req;
}

// Removes a partly written download unless Release()d.
class FileGuard {
 public:
  FileGuard(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~FileGuard() {
    if (fd_ >= 0) ::close(fd_);
    if (!released_) ::unlink(path_.c_str());
  }
  Status CloseAndKeep() {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return PosixError("close " + path_, errno);
    released_ = true;
    return Status::OK();
  }

 private:
  int fd_;
  std::string path_;
  bool released_ = false;
};

// A pinned GET (If-Match `etag`, bare) was answered 412: finds out why with a HEAD.
// `pinned`: the caller pinned the version (FailedPrecondition / NotFound); otherwise the pin
// is our own, between the parts of one download (Retryable). When the object still has that
// ETag, the endpoint did not take the form of the value sent (RGW wants it unquoted, AWS
// quoted): with `may_switch`, the client switches to the other form and the answer is OK (the
// caller retries once); without, an IOError.
Status IfMatchRefused(S3Client& client, const std::string& bucket, const std::string& key,
                      const std::string& etag, bool pinned, bool used_bare, bool may_switch) {
  const std::string uri = S3Client::UriOf(bucket, key);
  LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> now, HeadObject(client, bucket, key));
  if (!now) {
    if (pinned) {
      return Status::NotFound(uri + ": no such object (gone since it was planned, ETag " + etag +
                              ")");
    }
    return Status::Retryable(uri + ": the object was deleted while it was being downloaded");
  }
  if (now->etag != etag) {
    if (pinned) return ChangedSincePlannedAt(uri, etag, now->etag);
    return Status::Retryable(uri + ": the object changed while it was being downloaded (ETag " +
                             etag + " no longer matches)");
  }
  if (!may_switch) {
    return Status::IOError(uri + ": " + client.EndpointFor(bucket) +
                           " refused If-Match with the object's own ETag " + etag +
                           " in both forms (quoted and bare)");
  }
  // Another request may have switched already; either way the next try uses the other form.
  if (client.if_match_bare() == used_bare) client.set_if_match_bare(!used_bare);
  return Status::OK();
}

// An endpoint that ignores If-Match (s3rver) answers another version: caught by its ETag.
Status CheckAnswerEtag(const std::string& bucket, const std::string& key, const HttpResponse& resp,
                       const std::string& pin_etag) {
  if (pin_etag.empty() || !resp.ok()) return Status::OK();
  std::string got = StripQuotes(resp.Header("etag"));
  if (got.empty() || got == pin_etag) return Status::OK();
  return ChangedSincePlannedAt(S3Client::UriOf(bucket, key), pin_etag, got);
}

Result<std::string> GetOnce(S3Client& client, const std::string& bucket, const std::string& key,
                            const ByteRange& range, const std::string& pin_etag, bool* refused,
                            bool* used_bare) {
  *refused = false;
  S3Request req = GetRequest(bucket, key);
  if (!range.whole()) {
    req.headers.emplace_back("Range", RangeHeader(range));
    req.accept = {416};
  }
  *used_bare = client.if_match_bare();
  if (!pin_etag.empty()) {
    req.headers.emplace_back("If-Match", *used_bare ? pin_etag : "\"" + pin_etag + "\"");
    req.accept.push_back(412);
  }
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (resp.status == 412) {
    *refused = true;
    return std::string();
  }
  LP_RETURN_IF_ERROR(CheckAnswerEtag(bucket, key, resp, pin_etag));
  if (resp.status == 416 || resp.stopped) return RangeRefused(client, req, resp, range.offset);
  if (range.whole() || resp.status == 206) return std::move(resp.body);
  // 200 to a ranged request: the server ignored Range and sent everything; cut it here.
  const int64_t size = static_cast<int64_t>(resp.body.size());
  if (range.offset >= size) return PastTheEnd(bucket, key, range.offset, size, "");
  int64_t length =
      range.length < 0 ? size - range.offset : std::min(range.length, size - range.offset);
  return resp.body.substr(static_cast<size_t>(range.offset), static_cast<size_t>(length));
}

}  // namespace

Result<std::string> GetObject(S3Client& client, const std::string& bucket, const std::string& key,
                              const ByteRange& range, const std::string& pin_etag) {
  LP_RETURN_IF_ERROR(CheckOffset(bucket, key, range));
  if (!range.whole() && range.length == 0) {
    if (!pin_etag.empty()) {
      LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> now, HeadObject(client, bucket, key));
      if (!now) return Status::NotFound(S3Client::UriOf(bucket, key) + ": no such object");
      if (now->etag != pin_etag) {
        return ChangedSincePlannedAt(S3Client::UriOf(bucket, key), pin_etag, now->etag);
      }
    }
    LP_RETURN_IF_ERROR(CheckEmptyRange(client, bucket, key, range.offset));
    return std::string();
  }
  for (int round = 0;; ++round) {
    bool refused = false, used_bare = false;
    LP_ASSIGN_OR_RETURN(std::string data,
                        GetOnce(client, bucket, key, range, pin_etag, &refused, &used_bare));
    if (!refused) return data;
    LP_RETURN_IF_ERROR(IfMatchRefused(client, bucket, key, pin_etag, true, used_bare, round == 0));
  }
}

Status GetObjectToFile(S3Client& client, const std::string& bucket, const std::string& key,
                       const std::string& local_path, const ByteRange& range,
                       const std::string& pin_etag) {
  LP_RETURN_IF_ERROR(CheckOffset(bucket, key, range));
  int fd = ::open(local_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return PosixError("create " + local_path, errno);
  FileGuard guard(fd, local_path);
  if (!range.whole() && range.length == 0) {
    LP_RETURN_IF_ERROR(CheckEmptyRange(client, bucket, key, range.offset));
    return guard.CloseAndKeep();
  }
  const bool pinned = !pin_etag.empty();
  auto if_match = [&](const std::string& etag, bool bare) {
    return bare ? etag : "\"" + etag + "\"";
  };

  // The first part tells the object's size and ETag (Content-Range, ETag); the rest follow in
  // parallel. One request does it all for objects up to one part.
  const int64_t part = client.options().part_size;
  const int64_t first_length = range.length < 0 ? part : std::min(part, range.length);
  S3Request first = GetRequest(bucket, key);
  first.headers.emplace_back("Range", RangeHeader({range.offset, first_length}));
  first.accept = {416};
  first.sink_fd = fd;
  first.sink_path = local_path;
  bool first_bare = client.if_match_bare();
  if (pinned) {
    first.headers.emplace_back("If-Match", if_match(pin_etag, first_bare));
    first.accept.push_back(412);
  }
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(first));
  if (pinned && resp.status == 412) {
    LP_RETURN_IF_ERROR(IfMatchRefused(client, bucket, key, pin_etag, true, first_bare, true));
    first.headers.back().second = if_match(pin_etag, first_bare = client.if_match_bare());
    LP_ASSIGN_OR_RETURN(resp, client.Execute(first));
    if (resp.status == 412) {
      LP_RETURN_IF_ERROR(IfMatchRefused(client, bucket, key, pin_etag, true, first_bare, false));
    }
  }
  LP_RETURN_IF_ERROR(CheckAnswerEtag(bucket, key, resp, pin_etag));

  int64_t end = 0;  // one past the last byte to fetch
  if (resp.status == 416 || resp.stopped) {
    if (!range.whole()) return RangeRefused(client, first, resp, range.offset);
    // S3 answers 416 to "bytes=0-…" on an empty object (s3rver a 206 of nothing); a plain GET
    // fetches its zero bytes.
    S3Request plain = GetRequest(bucket, key);
    plain.sink_fd = fd;
    plain.sink_path = local_path;
    if (pinned) {
      plain.headers.emplace_back("If-Match", if_match(pin_etag, client.if_match_bare()));
      plain.accept = {412};
    }
    LP_ASSIGN_OR_RETURN(HttpResponse whole, client.Execute(plain));
    if (whole.status == 412) {
      LP_RETURN_IF_ERROR(
          IfMatchRefused(client, bucket, key, pin_etag, true, client.if_match_bare(), false));
    }
    LP_RETURN_IF_ERROR(CheckAnswerEtag(bucket, key, whole, pin_etag));
    end = whole.body_bytes;
  } else if (resp.status == 200) {
    // The server ignored Range and sent the whole object, which is now at offset 0.
    if (range.offset != 0) {
      return Status::IOError(S3Client::UriOf(bucket, key) + ": " + client.EndpointFor(bucket) +
                             " ignored the Range header of a ranged GET");
    }
    end = range.length < 0 ? resp.body_bytes : std::min(range.length, resp.body_bytes);
  } else {
    std::optional<ContentRange> cr = ParseContentRange(resp.Header("content-range"));
    if (!cr || cr->first != range.offset || cr->total < 0) {
      return Status::Corruption(S3Client::UriOf(bucket, key) + ": GET answered range '" +
                                resp.Header("content-range") + "' to a request for bytes from " +
                                std::to_string(range.offset));
    }
    end = range.length < 0 ? cr->total : std::min(cr->total, range.offset + range.length);
    const std::string etag = pinned ? pin_etag : StripQuotes(resp.Header("etag"));
    const int64_t next = range.offset + resp.body_bytes;
    const int64_t parts = (end - next + part - 1) / part;
    if (parts > 0) {
      Status st = ParallelFor(client.pool(), static_cast<size_t>(parts), [&](size_t i) -> Status {
        const int64_t from = next + static_cast<int64_t>(i) * part;
        const int64_t length = std::min(part, end - from);
        S3Request req = GetRequest(bucket, key);
        req.headers.emplace_back("Range", RangeHeader({from, length}));
        // Every part from the version the first one came from (or the pinned one), or a
        // clear failure.
        bool bare = client.if_match_bare();
        if (!etag.empty()) req.headers.emplace_back("If-Match", if_match(etag, bare));
        req.accept = {412};
        req.sink_fd = fd;
        req.sink_offset = from - range.offset;
        req.sink_path = local_path;
        LP_ASSIGN_OR_RETURN(HttpResponse r, client.Execute(req));
        if (r.status == 412) {
          LP_RETURN_IF_ERROR(IfMatchRefused(client, bucket, key, etag, pinned, bare, true));
          req.headers.back().second = if_match(etag, bare = client.if_match_bare());
          LP_ASSIGN_OR_RETURN(r, client.Execute(req));
          if (r.status == 412) {
            LP_RETURN_IF_ERROR(IfMatchRefused(client, bucket, key, etag, pinned, bare, false));
          }
        }
        std::optional<ContentRange> got = ParseContentRange(r.Header("content-range"));
        if (r.status != 206 || !got || got->first != from || r.body_bytes != length) {
          return Status::Corruption(
              S3Client::UriOf(bucket, key) + ": GET of bytes " + std::to_string(from) + "+" +
              std::to_string(length) + " answered HTTP " + std::to_string(r.status) + " range '" +
              r.Header("content-range") + "' with " + std::to_string(r.body_bytes) + " bytes");
        }
        return Status::OK();
      });
      LP_RETURN_IF_ERROR(st);
    }
  }
  // Bytes a longer earlier attempt or a server that ignored Range may have left past the end.
  if (::ftruncate(fd, end - range.offset) != 0) {
    return PosixError("truncate " + local_path, errno);
  }
  return guard.CloseAndKeep();
}

}  // namespace lakepack::s3
