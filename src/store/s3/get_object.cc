// GetObject: into memory, or streamed into a local file, whole or by byte range. Large
// downloads go as parallel ranged GETs, each retried on its own, so a dropped connection
// costs one part rather than the whole object.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "store/s3/errors.h"
#include "store/s3/operations.h"

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

}  // namespace

Result<std::string> GetObject(S3Client& client, const std::string& bucket, const std::string& key,
                              const ByteRange& range) {
  LP_RETURN_IF_ERROR(CheckOffset(bucket, key, range));
  if (!range.whole() && range.length == 0) {
    LP_RETURN_IF_ERROR(CheckEmptyRange(client, bucket, key, range.offset));
    return std::string();
  }
  S3Request req = GetRequest(bucket, key);
  if (!range.whole()) {
    req.headers.emplace_back("Range", RangeHeader(range));
    req.accept = {416};
  }
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));
  if (resp.status == 416 || resp.stopped) return RangeRefused(client, req, resp, range.offset);
  if (range.whole() || resp.status == 206) return std::move(resp.body);
  // 200 to a ranged request: the server ignored Range and sent everything; cut it here.
  const int64_t size = static_cast<int64_t>(resp.body.size());
  if (range.offset >= size) return PastTheEnd(bucket, key, range.offset, size, "");
  int64_t length =
      range.length < 0 ? size - range.offset : std::min(range.length, size - range.offset);
  return resp.body.substr(static_cast<size_t>(range.offset), static_cast<size_t>(length));
}

Status GetObjectToFile(S3Client& client, const std::string& bucket, const std::string& key,
                       const std::string& local_path, const ByteRange& range) {
  LP_RETURN_IF_ERROR(CheckOffset(bucket, key, range));
  int fd = ::open(local_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return PosixError("create " + local_path, errno);
  FileGuard guard(fd, local_path);
  if (!range.whole() && range.length == 0) {
    LP_RETURN_IF_ERROR(CheckEmptyRange(client, bucket, key, range.offset));
    return guard.CloseAndKeep();
  }

  // The first part tells the object's size and ETag (Content-Range, ETag); the rest follow in
  // parallel. One request does it all for objects up to one part.
  const int64_t part = client.options().part_size;
  const int64_t first_length = range.length < 0 ? part : std::min(part, range.length);
  S3Request first = GetRequest(bucket, key);
  first.headers.emplace_back("Range", RangeHeader({range.offset, first_length}));
  first.accept = {416};
  first.sink_fd = fd;
  first.sink_path = local_path;
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(first));

  int64_t end = 0;  // one past the last byte to fetch
  if (resp.status == 416 || resp.stopped) {
    if (!range.whole()) return RangeRefused(client, first, resp, range.offset);
    // S3 answers 416 to "bytes=0-…" on an empty object (s3rver a 206 of nothing); a plain GET
    // fetches its zero bytes.
    S3Request plain = GetRequest(bucket, key);
    plain.sink_fd = fd;
    plain.sink_path = local_path;
    LP_ASSIGN_OR_RETURN(HttpResponse whole, client.Execute(plain));
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
    const std::string etag = resp.Header("etag");
    const int64_t next = range.offset + resp.body_bytes;
    const int64_t parts = (end - next + part - 1) / part;
    if (parts > 0) {
      Status st = ParallelFor(client.pool(), static_cast<size_t>(parts), [&](size_t i) -> Status {
        const int64_t from = next + static_cast<int64_t>(i) * part;
        const int64_t length = std::min(part, end - from);
        S3Request req = GetRequest(bucket, key);
        req.headers.emplace_back("Range", RangeHeader({from, length}));
        // Every part from the version the first one came from, or a clear failure.
        if (!etag.empty()) req.headers.emplace_back("If-Match", etag);
        req.accept = {412};
        req.sink_fd = fd;
        req.sink_offset = from - range.offset;
        req.sink_path = local_path;
        LP_ASSIGN_OR_RETURN(HttpResponse r, client.Execute(req));
        if (r.status == 412) {
          return Status::Retryable(S3Client::UriOf(bucket, key) +
                                   ": the object changed while it was being downloaded (ETag " +
                                   etag + " no longer matches)");
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
