// Locations: parsing what users type (s3://, file://, bare paths) and opening the store that
// serves it. The only place that decides which ObjectStore implementation a URI gets.
#include "lakepack/uri.h"

#include <cctype>
#include <string>
#include <utility>

#include "store/local_store.h"
#include "store/s3_open.h"

namespace lakepack {

namespace {

// Longest bucket name S3 ever accepted (legacy us-east-1 names; new ones stop at 63).
constexpr size_t kMaxBucketNameLength = 255;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
bool IsScheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return true;
}

// Schemes a user may plausibly type for a remote location; "s3:bucket" and friends are typos
// that must not quietly become a local directory called "s3:bucket".
bool IsWellKnownScheme(std::string_view scheme) {
  static constexpr std::string_view kKnown[] = {"s3",    "s3a",  "s3n",  "file", "http",
                                                "https", "gs",   "gcs",  "az",   "abfs",
                                                "abfss", "hdfs", "wasb", "wasbs"};
  for (std::string_view known : kKnown) {
    if (scheme == known) return true;
  }
  return false;
}

Status CheckBucket(std::string_view uri, std::string_view bucket) {
  if (bucket.empty()) {
    return Status::InvalidArgument(std::string(uri) + ": the bucket name is empty");
  }
  if (bucket.size() > kMaxBucketNameLength) {
    return Status::InvalidArgument(std::string(uri) + ": the bucket name is longer than " +
                                   std::to_string(kMaxBucketNameLength) + " characters");
  }
  for (char c : bucket) {
    // Also the characters of legacy and S3-compatible buckets (upper case, '_').
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') {
      return Status::InvalidArgument(std::string(uri) + ": the bucket name '" +
                                     std::string(bucket) + "' holds the character '" +
                                     std::string(1, c) + "'");
    }
  }
  return Status::OK();
}

Result<Location> ParseS3(std::string_view uri, std::string_view rest) {
  Location loc;
  loc.kind = StoreKind::kS3;
  loc.original = std::string(uri);
  size_t slash = rest.find('/');
  std::string_view bucket = rest.substr(0, slash);
  LP_RETURN_IF_ERROR(CheckBucket(uri, bucket));
  loc.root = std::string(bucket);
  if (slash != std::string_view::npos) loc.path = std::string(rest.substr(slash + 1));
  // The path becomes a prefix of keys, so it must obey the key rules, bar one trailing '/'.
  std::string_view as_key = loc.path;
  if (!as_key.empty() && as_key.back() == '/') as_key.remove_suffix(1);
  if (!as_key.empty()) {
    Status valid = ValidateKey(as_key);
    if (!valid.ok()) {
      return Status::InvalidArgument(std::string(uri) + ": the path is not a valid key prefix (" +
                                     valid.message() + ")");
    }
  } else if (!loc.path.empty()) {
    return Status::InvalidArgument(std::string(uri) + ": the path must not start with '/'");
  }
  LP_RETURN_IF_ERROR(CheckS3KeyLength(uri, as_key));
  return loc;
}

Result<Location> ParseLocal(std::string_view uri, std::string_view path) {
  if (path.empty()) return Status::InvalidArgument(std::string(uri) + ": names no path");
  Result<std::string> absolute = AbsoluteLocalPath(path);
  if (!absolute.ok()) return absolute.status().WithContext(uri);
  Location loc;
  loc.kind = StoreKind::kLocal;
  loc.root = "/";
  loc.path = absolute->substr(1);
  loc.original = std::string(uri);
  return loc;
}

}  // namespace

Status CheckS3KeyLength(std::string_view uri, std::string_view full_key) {
  if (full_key.size() <= kMaxS3KeyBytes) return Status::OK();
  return Status::InvalidArgument(
      std::string(uri) + ": the key is " + std::to_string(full_key.size()) +
      " bytes long; S3 allows at most " + std::to_string(kMaxS3KeyBytes));
}

Result<Location> ParseLocation(std::string_view uri) {
  if (uri.empty())
    return Status::InvalidArgument("empty location: expected s3://, file:// or a path");
  if (uri.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("location holds a NUL byte");
  }
  size_t colon = uri.find(':');
  size_t first_slash = uri.find('/');
  if (colon != std::string_view::npos && colon < first_slash && IsScheme(uri.substr(0, colon))) {
    std::string scheme = Lower(uri.substr(0, colon));
    bool has_authority = uri.substr(colon, 3) == "://";
    if (has_authority && scheme == "s3") return ParseS3(uri, uri.substr(colon + 3));
    // file:///abs keeps its leading '/', file://rel stays relative (no host part, no
    // percent-decoding: the rest is the path exactly as typed).
    if (has_authority && scheme == "file") return ParseLocal(uri, uri.substr(colon + 3));
    if (has_authority || IsWellKnownScheme(scheme)) {
      return Status::InvalidArgument(std::string(uri) + ": unsupported location scheme '" + scheme +
                                     "' (expected s3://bucket/prefix, file:// or a path)");
    }
  }
  return ParseLocal(uri, uri);
}

Result<std::shared_ptr<ObjectStore>> OpenStore(std::string_view uri, const StoreOptions& options) {
  LP_ASSIGN_OR_RETURN(Location loc, ParseLocation(uri));
  if (loc.kind == StoreKind::kS3) return OpenS3Store(loc, options);
  return OpenLocalStore("/" + loc.path, options.create_local_root);
}

Result<ObjectRef> OpenObject(std::string_view uri, const StoreOptions& options) {
  LP_ASSIGN_OR_RETURN(Location loc, ParseLocation(uri));
  if (uri.back() == '/') {
    return Status::InvalidArgument(std::string(uri) + ": names a directory, not an object");
  }
  ObjectRef ref;
  size_t slash = loc.path.rfind('/');
  std::string parent = slash == std::string::npos ? "" : loc.path.substr(0, slash);
  ref.key = slash == std::string::npos ? loc.path : loc.path.substr(slash + 1);
  if (loc.kind == StoreKind::kS3) {
    if (loc.path.empty()) {
      return Status::InvalidArgument(std::string(uri) + ": names a bucket, not an object");
    }
    Location parent_loc = loc;
    parent_loc.path = parent;
    parent_loc.original = "s3://" + loc.root + (parent.empty() ? "" : "/" + parent);
    LP_ASSIGN_OR_RETURN(ref.store, OpenS3Store(parent_loc, options));
  } else {
    if (loc.path.empty()) {
      return Status::InvalidArgument(std::string(uri) +
                                     ": names the root directory, not an object");
    }
    LP_ASSIGN_OR_RETURN(ref.store, OpenLocalStore("/" + parent, options.create_local_root));
  }
  LP_RETURN_IF_ERROR(ValidateKey(ref.key).WithContext(uri));
  return ref;
}

}  // namespace lakepack
