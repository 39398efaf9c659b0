// The S3 operations lakepack uses, one per file beside this header (list_objects.cc,
// head_object.cc, get_object.cc, put_object.cc, multipart.cc, copy_object.cc,
// delete_objects.cc), as free functions over an S3Client with every input explicit.
// Keys here are full S3 keys (any store prefix already applied) and already validated.
// Thread-safety: every function may be called from many threads at once.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lakepack/object_store.h"
#include "lakepack/status.h"
#include "store/s3/s3_client.h"
#include "store/s3/util.h"

namespace lakepack::s3 {

//! ListObjectsV2: one page (max_keys capped at kMaxListKeys), keys URL-encoded on the wire
//! (encoding-type=url) so that any byte survives XML.
Result<ListPage> ListObjectsV2(S3Client& client, const std::string& bucket,
                               const ListOptions& options);
//! A continuation token for ListObjectsV2 that lists the keys after `key` (start-after).
std::string StartAfterToken(const std::string& key);

//! The user metadata header that holds PutOptions::tag.
inline constexpr std::string_view kTagHeader = "x-amz-meta-lakepack-tag";

//! InvalidArgument unless `tag` can travel as a header value (printable ASCII, no blanks,
//! at most 256 bytes).
Status CheckTag(const std::string& uri, std::string_view tag);

//! What the store's probe found the endpoint enforces (S3Store::Capabilities); the default is
//! what is assumed before and without a probe: nothing beyond create-only single PUTs.
struct EndpointConditions {
  //! If-Match on PutObject is enforced (in the form S3Client::IfMatchValue sends).
  bool if_match = false;
  //! If-None-Match: * on CompleteMultipartUpload is enforced: a create-only write may then go
  //! up in parts above the multipart threshold, like any other write.
  bool create_only_multipart = false;
  //! Multipart uploads declare CRC32 flexible checksums (x-amz-checksum-algorithm; each part's
  //! x-amz-checksum-crc32, listed again at completion), which the endpoint checks and keeps.
  //! Taken where create_only_multipart is: an endpoint with If-None-Match on completion (2024)
  //! has had checksums since 2022 (AWS, moto, MinIO); RGW and s3rver get none. On moto it also
  //! skips the full-object CRC64 fallback that costs its completion seconds per gigabyte.
  bool crc32_checksums = false;
};

//! The user metadata header that tags an object with the write that made it, so that a
//! write whose answer was lost can recognise its own object (see WriteIdMatches).
inline constexpr std::string_view kWriteIdHeader = "x-amz-meta-lakepack-write-id";
//! PutOptions::metadata name N travels as the header kMetadataHeaderPrefix + N.
inline constexpr std::string_view kMetadataHeaderPrefix = "x-amz-meta-";

//! Appends the headers of PutOptions::metadata.
void AddMetadataHeaders(const std::vector<std::pair<std::string, std::string>>& metadata,
                        KeyValues& headers);

//! A fresh random write id (16 hex digits).
std::string NewWriteId();

//! HeadBucket, then CreateBucket when the bucket is missing (*created says whether it was).
Status EnsureBucket(S3Client& client, const std::string& bucket, bool* created = nullptr);

//! HeadObject: std::nullopt for 404. ObjectInfo::tag is the kTagHeader value. `write_id`, when
//! given, receives the object's kWriteIdHeader value ("" when it has none).
Result<std::optional<ObjectInfo>> HeadObject(S3Client& client, const std::string& bucket,
                                             const std::string& key,
                                             std::string* write_id = nullptr);

//! Whether the object at `key` now is the one written with `write_id`. Used when a
//! create-only PUT meets 412, or CompleteMultipartUpload meets NoSuchUpload: both happen when
//! an earlier attempt of the same request succeeded but its answer was lost (our retry, or
//! curl's own silent resend on a connection that died).
Result<bool> WriteIdMatches(S3Client& client, const std::string& bucket, const std::string& key,
                            const std::string& write_id);

//! GetObject into memory, whole or a range (416 → InvalidArgument; a range running past
//! the end is cut at the end). With `pin_etag` (bare), only that version: If-Match on the
//! GET; another version is FailedPrecondition ("changed since it was planned"), a missing
//! object NotFound.
Result<std::string> GetObject(S3Client& client, const std::string& bucket, const std::string& key,
                              const ByteRange& range, const std::string& pin_etag = "");

//! GetObject streamed into a local file (created or truncated; removed on failure). Objects
//! larger than one part are fetched as ranged GETs in parallel, pinned with If-Match to
//! `pin_etag` when given (then as GetObject), else to the first answer's ETag so that a
//! concurrent overwrite cannot mix two versions.
Status GetObjectToFile(S3Client& client, const std::string& bucket, const std::string& key,
                       const std::string& local_path, const ByteRange& range,
                       const std::string& pin_etag = "");

//! One PutObject with Content-MD5, the ETag checked against the MD5 where it is one.
//! options.if_none_match sends If-None-Match: * (412 → AlreadyExists); options.if_match
//! sends If-Match (412 or 404 → FailedPrecondition); options.tag goes in kTagHeader.
Result<ObjectInfo> PutObject(S3Client& client, const std::string& bucket, const std::string& key,
                             const Payload& payload, const PutOptions& options);

//! Multipart upload: equal parts in parallel through the client's pool, then
//! CompleteMultipartUpload; any failure aborts the upload so no parts are left behind.
Result<ObjectInfo> MultipartUpload(S3Client& client, const std::string& bucket,
                                   const std::string& key, const Payload& payload,
                                   const PutOptions& options, bool crc32_checksums = false);

//! PutObject or MultipartUpload, by size (multipart_threshold). Compare-and-swap writes up to
//! kMaxSinglePutSize go as one PUT, where the condition is most widely honoured; create-only
//! writes too, unless conditions.create_only_multipart. Where !conditions.if_match,
//! options.if_match is checked with a HEAD just before the write (a window in which another writer
//! can slip in).
Result<ObjectInfo> Upload(S3Client& client, const std::string& bucket, const std::string& key,
                          const Payload& payload, const PutOptions& options,
                          const EndpointConditions& conditions = {});

//! A multipart upload of `local_path` that follows the file while its writer appends to it
//! (ObjectStore::BeginFollowingUpload), from its Start on: parts of PartSizeFor(0) bytes go up
//! through the client's pool as the file grows; Complete sends the rest, checks that the bytes
//! sent are still the file's, and completes with If-None-Match: * (the caller makes sure the
//! endpoint enforces it). Create-only only: InvalidArgument otherwise.
Result<std::unique_ptr<FollowingUpload>> FollowFile(S3Client& client, const std::string& bucket,
                                                    const std::string& key,
                                                    const std::string& local_path,
                                                    const PutOptions& options);

//! For the probe: a one-part multipart upload of the existing `key`, completed with
//! If-None-Match: *. True when the endpoint refused it (412), false when it overwrote the
//! object. The upload is aborted when it was not completed.
Result<bool> CompleteIfNoneMatchRefused(S3Client& client, const std::string& bucket,
                                        const std::string& key, std::string_view body);

//! ListMultipartUploads: every upload started under `prefix` (full keys) and neither
//! completed nor aborted, all pages. An endpoint without the call (s3rver) gives none.
Result<std::vector<PendingUpload>> ListMultipartUploads(S3Client& client, const std::string& bucket,
                                                        const std::string& prefix);

//! AbortMultipartUpload; an upload already gone (404 NoSuchUpload) is not an error.
Status AbortMultipartUpload(S3Client& client, const std::string& bucket, const std::string& key,
                            const std::string& upload_id);

//! CopyObject inside the bucket (overwrites). Missing source: NotFound. Sources larger than
//! S3's single-copy limit are copied part by part (UploadPartCopy).
Status CopyObject(S3Client& client, const std::string& bucket, const std::string& from,
                  const std::string& to);

//! The part-by-part copy CopyObject falls back to, with the source's size (and tag, which a
//! part-by-part copy must set itself: CopyObject copies metadata, UploadPartCopy does not).
Status MultipartCopy(S3Client& client, const std::string& bucket, const std::string& from,
                     const std::string& to, int64_t size, const std::string& tag = "");

//! Deletes keys: DeleteObjects in batches of kMaxDeleteBatch, in parallel; single DELETEs
//! where the endpoint refuses the batch form. Missing keys are not an error.
Status DeleteObjects(S3Client& client, const std::string& bucket,
                     const std::vector<std::string>& keys);

}  // namespace lakepack::s3
