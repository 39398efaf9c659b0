// S3Store: maps the ObjectStore contract onto the S3 operations (operations.h), applies the
// store's key prefix, probes create-only support, and opens stores for s3:// locations.
#include "store/s3/s3_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "store/s3/crypto.h"
#include "store/s3/operations.h"
#include "store/s3/s3_client.h"
#include "store/s3_open.h"

namespace lakepack {

namespace {

// Stores opened with the same settings share one client, so that connections are reused
// and the concurrency bound holds across them (convert opens its input and output apart).
Result<std::shared_ptr<s3::S3Client>> SharedClient(s3::S3Options options) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<s3::S3Client>> clients;
  // The secret goes into the key only as a hash; the key is never printed either way.
  std::string key = options.ToString() + "\n" +
                    s3::HexEncode(s3::Sha256(options.credentials.secret_access_key + '\0' +
                                             options.credentials.session_token)) +
                    "\n" + options.credentials.access_key_id;
  const bool shareable = options.retry_strategy == nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (shareable) {
    if (auto it = clients.find(key); it != clients.end()) {
      if (std::shared_ptr<s3::S3Client> client = it->second.lock()) return client;
    }
  }
  LP_ASSIGN_OR_RETURN(std::shared_ptr<s3::S3Client> client, s3::S3Client::Make(std::move(options)));
  if (shareable) clients[key] = client;
  return client;
}

// Probe results per endpoint, bucket, prefix and key id: they do not change within a run.
std::mutex probe_mu;
std::map<std::string, bool> probe_results;

std::string RandomHex() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(::getpid()));
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

}  // namespace

S3Store::S3Store(std::shared_ptr<s3::S3Client> client, std::string bucket, std::string prefix)
    : client_(std::move(client)), bucket_(std::move(bucket)), prefix_(std::move(prefix)) {}

S3Store::~S3Store() = default;

const s3::S3Options& S3Store::options() const { return client_->options(); }

std::string S3Store::Uri() const {
  std::string uri = "s3://" + bucket_;
  if (!prefix_.empty()) uri += "/" + prefix_.substr(0, prefix_.size() - 1);
  return uri;
}

StoreCapabilities S3Store::Capabilities() const {
  StoreCapabilities caps;
  caps.atomic_write = true;
  caps.consistent_listing = true;
  caps.create_only_reliable = ProbeCreateOnly();
  return caps;
}

bool S3Store::ProbeCreateOnly() const {
  std::call_once(probe_once_, [this] {
    const std::string cache_key = client_->EndpointFor(bucket_) + "\n" + bucket_ + "\n" + prefix_ +
                                  "\n" + options().credentials.access_key_id;
    {
      std::lock_guard<std::mutex> lock(probe_mu);
      if (auto it = probe_results.find(cache_key); it != probe_results.end()) {
        create_only_reliable_ = it->second;
        return;
      }
    }
    // Two create-only PUTs of one fresh key: an endpoint that enforces If-None-Match refuses
    // the second with 412; one that ignores it (s3rver, older MinIO and Ceph) overwrites.
    // The second body differs from the first, so a retried PUT cannot mistake our own first
    // write for its own.
    const std::string key = prefix_ + "_lakepack/probe/create-only-" + RandomHex();
    PutOptions create_only;
    create_only.if_none_match = true;
    bool reliable = false;
    std::string why;
    const std::string first_body = "lakepack create-only probe 1";
    const std::string second_body = "lakepack create-only probe 2";
    s3::Payload first{first_body, -1, "", static_cast<int64_t>(first_body.size())};
    s3::Payload second{second_body, -1, "", static_cast<int64_t>(second_body.size())};
    Result<ObjectInfo> put = s3::PutObject(*client_, bucket_, key, first, create_only);
    if (!put.ok()) {
      why = put.status().ToString();
    } else {
      Result<ObjectInfo> again = s3::PutObject(*client_, bucket_, key, second, create_only);
      reliable = again.status().IsAlreadyExists();
      why = again.ok() ? "the second create-only PUT succeeded" : again.status().ToString();
      (void)s3::DeleteObjects(*client_, bucket_, {key});  // best effort: the probe is tiny
    }
    if (options().debug) {
      std::fprintf(stderr, "lakepack s3: create-only probe of %s: %s (%s)\n", Uri().c_str(),
                   reliable ? "enforced" : "not enforced", client_->Scrub(why).c_str());
    }
    create_only_reliable_ = reliable;
    std::lock_guard<std::mutex> lock(probe_mu);
    probe_results[cache_key] = reliable;
  });
  return create_only_reliable_;
}

Result<ListPage> S3Store::List(const ListOptions& options) {
  ListOptions inner = options;
  inner.prefix = prefix_ + options.prefix;
  LP_ASSIGN_OR_RETURN(ListPage page, s3::ListObjectsV2(*client_, bucket_, inner));
  if (!prefix_.empty()) {
    // S3 answers only keys under inner.prefix, which starts with prefix_.
    for (ObjectInfo& info : page.objects) info.key.erase(0, prefix_.size());
    for (std::string& common : page.common_prefixes) common.erase(0, prefix_.size());
  }
  return page;
}

Result<std::optional<ObjectInfo>> S3Store::Stat(std::string_view key) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info, s3::HeadObject(*client_, bucket_, Full(key)));
  if (info) info->key = std::string(key);
  return info;
}

Result<std::string> S3Store::Read(std::string_view key, ByteRange range) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  return s3::GetObject(*client_, bucket_, Full(key), range);
}

Status S3Store::ReadToFile(std::string_view key, const std::string& local_path, ByteRange range) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  return s3::GetObjectToFile(*client_, bucket_, Full(key), local_path, range);
}

Result<ObjectInfo> S3Store::WriteFromFile(std::string_view key, const std::string& local_path,
                                          const PutOptions& options) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  int fd = ::open(local_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return PosixError("open " + local_path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError("stat " + local_path, errno);
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument(local_path + ": not a regular file");
  }
  s3::Payload payload;
  payload.fd = fd;
  payload.path = local_path;
  payload.size = st.st_size;
  LP_ASSIGN_OR_RETURN(ObjectInfo info, s3::Upload(*client_, bucket_, Full(key), payload, options));
  info.key = std::string(key);
  return info;
}

Result<ObjectInfo> S3Store::Write(std::string_view key, std::string_view data,
                                  const PutOptions& options) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  s3::Payload payload;
  payload.data = data;
  payload.size = static_cast<int64_t>(data.size());
  LP_ASSIGN_OR_RETURN(ObjectInfo info, s3::Upload(*client_, bucket_, Full(key), payload, options));
  info.key = std::string(key);
  return info;
}

Status S3Store::Copy(std::string_view from_key, std::string_view to_key) {
  LP_RETURN_IF_ERROR(CheckKey(from_key));
  LP_RETURN_IF_ERROR(CheckKey(to_key));
  return s3::CopyObject(*client_, bucket_, Full(from_key), Full(to_key));
}

Status S3Store::Delete(const std::vector<std::string>& keys) {
  // Every key is checked before any is deleted: a bad key in a batch deletes nothing.
  std::vector<std::string> full;
  full.reserve(keys.size());
  for (const std::string& key : keys) {
    LP_RETURN_IF_ERROR(CheckKey(key));
    full.push_back(Full(key));
  }
  return s3::DeleteObjects(*client_, bucket_, full);
}

Status S3Store::CheckKey(std::string_view key) const {
  LP_RETURN_IF_ERROR(ValidateKey(key));
  return CheckS3KeyLength("s3://" + bucket_ + "/" + Full(key), Full(key));
}

std::map<std::string, int64_t> S3Store::Counters() const { return client_->Counters(); }

Status S3Store::ParallelFor(size_t n, const std::function<Status(size_t)>& fn) {
  return s3::ParallelFor(client_->pool(), n, fn);
}

Result<std::shared_ptr<S3Store>> OpenS3StoreWithOptions(const std::string& bucket,
                                                        const std::string& prefix,
                                                        s3::S3Options options) {
  std::string normalized = prefix;
  size_t start = normalized.find_first_not_of('/');
  normalized = start == std::string::npos ? "" : normalized.substr(start);
  while (!normalized.empty() && normalized.back() == '/') normalized.pop_back();
  if (!normalized.empty()) normalized += '/';
  if (!options.ca_bundle.empty() && options.endpoint.rfind("http://", 0) != 0) {
    struct stat st;
    if (::stat(options.ca_bundle.c_str(), &st) != 0) {
      return Status::InvalidArgument("AWS_CA_BUNDLE='" + options.ca_bundle +
                                     "': cannot read the CA bundle (" + std::strerror(errno) + ")");
    }
  }
  LP_ASSIGN_OR_RETURN(std::shared_ptr<s3::S3Client> client, SharedClient(std::move(options)));
  return std::make_shared<S3Store>(std::move(client), bucket, std::move(normalized));
}

Result<std::shared_ptr<ObjectStore>> OpenS3Store(const Location& loc, const StoreOptions& options) {
  (void)options;  // nothing to create: S3 has no directories
  Result<s3::S3Options> s3_options = s3::S3Options::FromEnv();
  if (!s3_options.ok()) return s3_options.status().WithContext(loc.original);
  Result<std::shared_ptr<S3Store>> store =
      OpenS3StoreWithOptions(loc.root, loc.path, std::move(*s3_options));
  if (!store.ok()) return store.status().WithContext(loc.original);
  return std::shared_ptr<ObjectStore>(std::move(*store));
}

}  // namespace lakepack
