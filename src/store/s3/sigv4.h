// AWS Signature Version 4 for S3, header form: canonical request, string to sign, signing key
// and the Authorization header
// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html). Thread-safety:
// pure functions.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lakepack::s3 {

//! Name/value pairs in the order given (query parameters, request headers).
using KeyValues = std::vector<std::pair<std::string, std::string>>;

//! SHA-256 hex of the empty payload.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
//! The x-amz-content-sha256 value for a body that is not hashed (protected by Content-MD5).
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  //! No key: requests go out unsigned (public buckets).
  bool anonymous() const { return access_key_id.empty(); }
};

//! A request as the signer sees it. The signer adds headers to `headers`.
struct RequestToSign {
  std::string method;
  //! The path exactly as it goes on the wire, already URI-encoded ("/bucket/a%20b").
  std::string encoded_path;
  //! Decoded query parameters; sent as CanonicalQueryString(query).
  KeyValues query;
  //! Headers to send and sign; must include "host". Names in any case.
  KeyValues headers;
  //! Hex SHA-256 of the body, or kUnsignedPayload.
  std::string payload_hash;
};

//! What went into a signature, for debugging signature mismatches (never holds the secret).
struct SigningTrace {
  std::string canonical_request;
  std::string string_to_sign;
};

//! AWS URI encoding: every byte but A-Z a-z 0-9 - . _ ~ becomes %XY (upper-case hex); '/'
//! is kept when `keep_slash` (object key paths) and encoded otherwise (query values).
std::string UriEncode(std::string_view s, bool keep_slash);

//! Decodes %XY escapes, and '+' as a space when `plus_is_space` (S3's encoding-type=url).
std::string UriDecode(std::string_view s, bool plus_is_space);

//! "a=1&b=&c=x%2Fy": parameters URI-encoded, sorted by encoded name then value.
std::string CanonicalQueryString(const KeyValues& query);

//! "20130524T000000Z" for a Unix time, UTC.
std::string AmzDate(std::time_t t);

//! The canonical request; `signed_headers` receives "host;range;x-amz-date".
std::string CanonicalRequest(const RequestToSign& request, std::string* signed_headers);

//! Signs `request` at time `now`: adds x-amz-date, x-amz-content-sha256, x-amz-security-token
//! (with a session token) and Authorization. Anonymous credentials add only the payload hash.
void SignV4(const Credentials& credentials, std::string_view region, std::string_view service,
            std::time_t now, RequestToSign* request, SigningTrace* trace = nullptr);

}  // namespace lakepack::s3
