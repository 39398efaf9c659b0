// S3Store: maps the ObjectStore contract onto the S3 operations (operations.h), applies the
// store's key prefix, probes create-only support, and opens stores for s3:// locations.
#include "store/s3/s3_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>

#include "common/process_tag.h"
#include "common/strings.h"
#include "store/s3/crypto.h"
#include "store/s3/operations.h"
#include "store/s3/s3_client.h"
#include "store/s3_open.h"
#include "store/store_util.h"

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
std::map<std::string, S3Store::Probed>& ProbeResults() {
  static auto* results = new std::map<std::string, S3Store::Probed>();
  return *results;
}

// DeletePinned: a directory holding this many of the keys is listed rather than HEADed key by
// key, for at most this many pages (then the rest are HEADed).
constexpr size_t kListedDeleteMinKeys = 4;
constexpr int kListedDeleteMaxPages = 4;

s3::Payload MemoryPayload(const std::string& body) {
  return s3::Payload{body, -1, "", static_cast<int64_t>(body.size())};
}

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
  const Probed& probed = Probe();
  StoreCapabilities caps;
  caps.atomic_write = true;
  caps.consistent_listing = true;
  caps.create_only_reliable = probed.create_only;
  caps.create_only_multipart_reliable = probed.create_only_multipart;
  caps.if_match_reliable = probed.if_match;
  caps.tags = probed.tags;
  caps.delimiter_listing_reliable = probed.delimiter;
  return caps;
}

const S3Store::Probed& S3Store::Probe() const {
  std::call_once(probe_once_, [this] {
    const std::string cache_key = client_->EndpointFor(bucket_) + "\n" + bucket_ + "\n" + prefix_ +
                                  "\n" + options().credentials.access_key_id;
    {
      std::lock_guard<std::mutex> lock(probe_mu);
      if (auto it = ProbeResults().find(cache_key); it != ProbeResults().end()) {
        probed_ = it->second;
        client_->set_if_match_bare(probed_.if_match_bare);
        return;
      }
    }
    // One fresh key, a few tiny requests. Every body differs from the others, so each write
    // has its own ETag and a retried request cannot mistake an earlier write for its own.
    // Named after this process, so that recovery can remove a probe that a kill interrupted.
    // In a folder of its own, two levels down: the delimiter check below needs a prefix that
    // holds only a deeper prefix, and this one is certain to.
    const std::string folder = prefix_ + "_lakepack/probe/" + ThisProcessTag() + "-" + RandomHex();
    const std::string key = folder + "/d/e/p";
    auto body = [](int n) { return "lakepack capability probe " + std::to_string(n); };
    Probed found;
    std::string why;
    PutOptions create_only;
    create_only.if_none_match = true;
    create_only.tag = "lakepack-probe";
    Result<ObjectInfo> put =
        s3::PutObject(*client_, bucket_, key, MemoryPayload(body(1)), create_only);
    if (!put.ok()) {
      why = "cannot write: " + put.status().ToString();
    } else {
      // Create-only: a second create-only PUT must be refused with 412. Both carry the tag,
      // so that HEAD shows it whichever one stands.
      Result<ObjectInfo> again =
          s3::PutObject(*client_, bucket_, key, MemoryPayload(body(2)), create_only);
      found.create_only = again.status().IsAlreadyExists();
      why = "create-only " + std::string(found.create_only ? "enforced" : "not enforced");
      // Delimiter: a '/' listing of the probe's folder must show "<folder>/d/", which holds
      // only a deeper prefix (s3rver 3.7 answers nothing).
      ListOptions level;
      level.prefix = folder + "/";
      level.delimiter = "/";
      Result<ListPage> listed = s3::ListObjectsV2(*client_, bucket_, level);
      found.delimiter = listed.ok() && listed->common_prefixes.size() == 1 &&
                        listed->common_prefixes[0] == folder + "/d/";
      why += found.delimiter ? ", delimiter listings complete" : ", delimiter listings incomplete";
      Result<std::optional<ObjectInfo>> head = s3::HeadObject(*client_, bucket_, key);
      if (head.ok() && *head) {
        const std::string etag = (*head)->etag;
        found.tags = (*head)->tag == "lakepack-probe";
        why += found.tags ? ", tags kept" : ", tags lost";
        // If-Match: the right ETag must pass and a stale one be refused, in one form.
        for (bool bare : {false, true}) {
          client_->set_if_match_bare(bare);
          PutOptions cas;
          cas.if_match = etag;
          Result<ObjectInfo> right =
              s3::PutObject(*client_, bucket_, key, MemoryPayload(body(bare ? 5 : 4)), cas);
          if (!right.ok()) continue;
          // `etag` is stale now.
          Result<ObjectInfo> stale =
              s3::PutObject(*client_, bucket_, key, MemoryPayload(body(6)), cas);
          found.if_match = stale.status().code() == StatusCode::kFailedPrecondition;
          found.if_match_bare = bare;
          break;
        }
        client_->set_if_match_bare(found.if_match_bare);
        why += found.if_match ? std::string(", If-Match enforced (") +
                                    (found.if_match_bare ? "bare" : "quoted") + " ETag)"
                              : ", If-Match not enforced";
        // Create-only on CompleteMultipartUpload: the key exists, so it must be refused.
        if (found.create_only) {
          Result<bool> refused = s3::CompleteIfNoneMatchRefused(*client_, bucket_, key, body(7));
          found.create_only_multipart = refused.ok() && *refused;
          why += found.create_only_multipart ? ", multipart create-only enforced"
                                             : ", multipart create-only not enforced";
        }
      } else {
        why += ", HEAD failed";
      }
      (void)s3::DeleteObjects(*client_, bucket_, {key});  // best effort: the probe is tiny
    }
    if (options().debug) {
      std::fprintf(stderr, "lakepack s3: capability probe of %s: %s\n", Uri().c_str(),
                   client_->Scrub(why).c_str());
    }
    probed_ = found;
    std::lock_guard<std::mutex> lock(probe_mu);
    ProbeResults()[cache_key] = found;
  });
  probe_done_.store(true, std::memory_order_release);
  return probed_;
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
  return Upload(key, payload, options);
}

Result<ObjectInfo> S3Store::Write(std::string_view key, std::string_view data,
                                  const PutOptions& options) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  s3::Payload payload;
  payload.data = data;
  payload.size = static_cast<int64_t>(data.size());
  return Upload(key, payload, options);
}

Result<ObjectInfo> S3Store::Upload(std::string_view key, const s3::Payload& payload,
                                   const PutOptions& options) {
  LP_RETURN_IF_ERROR(CheckPutConditions(*this, key, options));
  s3::EndpointConditions conditions;
  // A compare-and-swap needs to know whether (and in which form) If-Match is honoured.
  if (!options.if_match.empty()) conditions.if_match = Probe().if_match;
  // Only a create-only write that could go up in parts needs to know how completion is handled.
  if (options.if_none_match && payload.size >= client_->options().multipart_threshold) {
    conditions.create_only_multipart = Probe().create_only_multipart;
  }
  // Checksums where the endpoint is known to take them, asked only of a store that has probed
  // already (every lakepack command does, for the commit protocol), so that a bare write never
  // pays for the probe's requests.
  if (payload.size >= client_->options().multipart_threshold &&
      probe_done_.load(std::memory_order_acquire)) {
    conditions.crc32_checksums = probed_.create_only_multipart;
  }
  LP_ASSIGN_OR_RETURN(ObjectInfo info,
                      s3::Upload(*client_, bucket_, Full(key), payload, options, conditions));
  info.key = std::string(key);
  return info;
}

Result<std::string> S3Store::ReadPinned(std::string_view key, std::string_view etag,
                                        ByteRange range) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  return s3::GetObject(*client_, bucket_, Full(key), range, std::string(etag));
}

Status S3Store::ReadToFilePinned(std::string_view key, std::string_view etag,
                                 const std::string& local_path) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  return s3::GetObjectToFile(*client_, bucket_, Full(key), local_path, ByteRange{},
                             std::string(etag));
}

Result<std::vector<std::string>> S3Store::DeletePinned(
    const std::vector<std::pair<std::string, std::string>>& keys_and_etags) {
  for (const auto& entry : keys_and_etags) LP_RETURN_IF_ERROR(CheckKey(entry.first));
  // S3 has no conditional batch delete: learn each key's ETag, then delete those still
  // unchanged. A write between the look and the delete is lost (a window;
  // commit-protocol.md). The look is one LIST per directory for the directories that hold
  // several of the keys (a roll-up deletes an hour of minute files from one directory: one
  // request instead of sixty HEADs), a HEAD for the others.
  std::vector<int> state(keys_and_etags.size(), 0);  // 0 missing, 1 unchanged, 2 changed
  auto judge = [&](size_t i, const std::string& etag) {
    state[i] = etag == keys_and_etags[i].second ? 1 : 2;
  };
  auto head = [&](size_t i) -> Status {
    LP_ASSIGN_OR_RETURN(std::optional<ObjectInfo> info,
                        s3::HeadObject(*client_, bucket_, Full(keys_and_etags[i].first)));
    if (info) judge(i, info->etag);
    return Status::OK();
  };
  // Directory → the indexes of its keys, ascending by key.
  std::map<std::string, std::vector<size_t>> dirs;
  for (size_t i = 0; i < keys_and_etags.size(); ++i) {
    dirs[DirOf(keys_and_etags[i].first)].push_back(i);
  }
  // One LIST each (a directory and its keys), or one HEAD each (a key alone, no directory).
  std::vector<std::pair<std::string, std::vector<size_t>>> looks;
  for (auto& [dir, idx] : dirs) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
      return keys_and_etags[a].first < keys_and_etags[b].first;
    });
    if (idx.size() < kListedDeleteMinKeys) {
      for (size_t i : idx) looks.push_back({"", {i}});
    } else {
      looks.emplace_back(dir, std::move(idx));
    }
  }
  LP_RETURN_IF_ERROR(s3::ParallelFor(client_->pool(), looks.size(), [&](size_t n) -> Status {
    const auto& [dir, idx] = looks[n];
    if (idx.size() == 1) return head(idx[0]);
    // The keys between the first and the last, in key order, from just before the first
    // (start-after is exclusive: the first key with its last byte lowered sorts before it).
    const std::string& last = keys_and_etags[idx.back()].first;
    std::string before = Full(keys_and_etags[idx.front()].first);
    if (static_cast<unsigned char>(before.back()) > 1) {
      before.back() = static_cast<char>(before.back() - 1);
    } else {
      before.pop_back();
    }
    ListOptions lo;
    lo.prefix = Full(dir);
    lo.continuation_token = s3::StartAfterToken(before);
    size_t next = 0;  // the first key of idx not yet passed by the listing
    for (int pages = 0;; pages++) {
      LP_ASSIGN_OR_RETURN(ListPage page, s3::ListObjectsV2(*client_, bucket_, lo));
      for (const auto& o : page.objects) {
        const std::string key = o.key.substr(prefix_.size());
        while (next < idx.size() && keys_and_etags[idx[next]].first < key) next++;
        if (next < idx.size() && keys_and_etags[idx[next]].first == key) judge(idx[next++], o.etag);
      }
      const bool past = !page.objects.empty() && page.objects.back().key >= Full(last);
      if (past || page.next_token.empty() || next == idx.size()) break;
      // Keys between ours, but many more than ours: HEAD the rest instead.
      if (pages + 1 >= kListedDeleteMaxPages) {
        for (; next < idx.size(); next++) LP_RETURN_IF_ERROR(head(idx[next]));
        break;
      }
      lo.continuation_token = page.next_token;
    }
    return Status::OK();
  }));
  std::vector<std::string> doomed, changed;
  for (size_t i = 0; i < keys_and_etags.size(); ++i) {
    if (state[i] == 1) doomed.push_back(Full(keys_and_etags[i].first));
    if (state[i] == 2) changed.push_back(keys_and_etags[i].first);
  }
  if (!doomed.empty()) LP_RETURN_IF_ERROR(s3::DeleteObjects(*client_, bucket_, doomed));
  return changed;
}

Result<std::unique_ptr<FollowingUpload>> S3Store::BeginFollowingUpload(
    std::string_view key, const std::string& local_path, int64_t expected_size,
    const PutOptions& options) {
  LP_RETURN_IF_ERROR(CheckKey(key));
  LP_RETURN_IF_ERROR(CheckPutConditions(*this, key, options));
  // Where a plain write would go up in one PUT anyway, following saves little and costs two
  // more requests; and the condition must hold on the multipart path, with the write tag
  // kept (recovery knows the object by it).
  if (!options.if_none_match || !options.if_match.empty() ||
      expected_size < client_->options().multipart_threshold || !Probe().create_only_multipart ||
      !Probe().tags) {
    return std::unique_ptr<FollowingUpload>();
  }
  LP_ASSIGN_OR_RETURN(auto upload,
                      s3::FollowFile(*client_, bucket_, Full(key), local_path, options));
  return ReportKeyAs(std::move(upload), std::string(key));
}

Result<std::vector<PendingUpload>> S3Store::ListPendingUploads(std::string_view prefix) {
  LP_ASSIGN_OR_RETURN(std::vector<PendingUpload> uploads,
                      s3::ListMultipartUploads(*client_, bucket_, prefix_ + std::string(prefix)));
  // The endpoint answers only keys under prefix_ + prefix (ListMultipartUploads filters).
  for (PendingUpload& upload : uploads) upload.key.erase(0, prefix_.size());
  return uploads;
}

Status S3Store::AbortPendingUpload(const PendingUpload& upload) {
  LP_RETURN_IF_ERROR(CheckKey(upload.key));
  return s3::AbortMultipartUpload(*client_, bucket_, Full(upload.key), upload.upload_id);
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

Status S3Store::EnsureBucket() { return s3::EnsureBucket(*client_, bucket_); }

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
  Result<s3::S3Options> s3_options = s3::S3Options::FromEnv();
  if (!s3_options.ok()) return s3_options.status().WithContext(loc.original);
  Result<std::shared_ptr<S3Store>> store =
      OpenS3StoreWithOptions(loc.root, loc.path, std::move(*s3_options));
  if (!store.ok()) return store.status().WithContext(loc.original);
  if (options.create_bucket) {
    Status made = (*store)->EnsureBucket();
    if (!made.ok()) return made.WithContext(loc.original);
  }
  return std::shared_ptr<ObjectStore>(std::move(*store));
}

}  // namespace lakepack
