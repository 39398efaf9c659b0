// S3Options::FromEnv: the AWS credential and configuration chain as the AWS CLI reads it, plus
// the seeds' aliases (AWS_ACCESS_KEY / AWS_SECRET_KEY, MINIO_*) and lakepack's own tuning
// variables (LAKEPACK_S3_*). Secrets are only ever copied, never formatted.
#include "store/s3/s3_options.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "common/strings.h"
#include "lakepack/options.h"
#include "store/s3/aws_config.h"

namespace lakepack::s3 {

namespace {

// The first variable of `names` that is set and not empty, with its name.
std::optional<std::pair<std::string, std::string>> FirstSet(
    const S3Options::EnvLookup& getenv, std::initializer_list<std::string_view> names) {
  for (std::string_view name : names) {
    std::optional<std::string> v = getenv(name);
    if (v && !v->empty()) return std::make_pair(std::string(name), *v);
  }
  return std::nullopt;
}

Result<int64_t> ParseInt(std::string_view name, std::string_view text, int64_t min, int64_t max) {
  std::string s(text);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
    return Status::InvalidArgument(std::string(name) + "='" + s +
                                   "': expected a whole number from " + std::to_string(min) +
                                   " to " + std::to_string(max));
  }
  return static_cast<int64_t>(v);
}

// "16MiB", "16M", "16777216": lakepack's one size parser (ParseByteSize): K, M, G, T and
// KiB ... TiB are powers of 1024, as part sizes and S3's limits are (5 MiB minimum part);
// KB, MB, GB, TB are powers of 1000.
Result<int64_t> ParseSize(std::string_view name, std::string_view text) {
  auto size = ParseByteSize(text);
  if (!size.ok()) {
    return Status::InvalidArgument(std::string(name) + "='" + std::string(text) +
                                   "': expected a size such as 16MiB, 64M or 8388608");
  }
  return size->bytes();
}

Result<bool> ParseBool(std::string_view name, std::string_view text) {
  std::string s = Lower(text);
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off" || s.empty()) return false;
  return Status::InvalidArgument(std::string(name) + "='" + std::string(text) +
                                 "': expected 1/0, true/false, yes/no or on/off");
}

Result<Addressing> ParseAddressing(std::string_view where, std::string_view text) {
  std::string s = Lower(text);
  if (s == "path") return Addressing::kPath;
  if (s == "virtual" || s == "virtual-hosted" || s == "virtual_hosted") return Addressing::kVirtual;
  if (s == "auto" || s.empty()) return Addressing::kAuto;
  return Status::InvalidArgument(std::string(where) + "='" + std::string(text) +
                                 "': expected path, virtual or auto");
}

std::string HomeDir(const S3Options::EnvLookup& getenv) {
  std::optional<std::string> home = getenv("HOME");
  if (home && !home->empty()) return *home;
  if (const struct passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
    return pw->pw_dir;
  }
  return "";
}

std::string ExpandHome(const std::string& path, const std::string& home) {
  if (path == "~" || path.rfind("~/", 0) == 0) return home + path.substr(1);
  return path;
}

// A missing file is an empty one: most machines have neither.
std::map<std::string, ProfileSettings> LoadSharedFile(const std::string& path, bool config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::stringstream text;
  text << in.rdbuf();
  return ParseAwsSharedFile(text.str(), config);
}

bool IsLoopbackHost(std::string_view hostport) {
  std::string_view host = hostport;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else {
    host = host.substr(0, host.rfind(':'));
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0 ||
         host.rfind("localhost.", 0) == 0;
}

Status CheckEndpoint(const std::string& where, const std::string& endpoint) {
  size_t scheme = endpoint.find("://");
  std::string s = scheme == std::string::npos ? "" : Lower(endpoint.substr(0, scheme));
  if (s != "http" && s != "https") {
    return Status::InvalidArgument(where + "='" + endpoint +
                                   "': expected http://host[:port] or https://host[:port]");
  }
  std::string_view rest = std::string_view(endpoint).substr(scheme + 3);
  if (rest.empty() || rest.front() == '/') {
    return Status::InvalidArgument(where + "='" + endpoint + "': names no host");
  }
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    return Status::InvalidArgument(where + "='" + endpoint +
                                   "': an endpoint with a path is not supported");
  }
  return Status::OK();
}

}  // namespace

std::string NormalizeEndpoint(std::string_view endpoint) {
  std::string out(endpoint);
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (!out.empty() && out.find("://") == std::string::npos) {
    out = (IsLoopbackHost(out) ? "http://" : "https://") + out;
  }
  return out;
}

bool IsIpHost(std::string_view host) {
  if (!host.empty() && host.front() == '[') return true;  // IPv6 literal
  std::string_view name = host.substr(0, host.rfind(':'));
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return true;
}

std::string MaskAccessKeyId(std::string_view id) {
  if (id.size() <= 4) return std::string(id.size(), '*');
  return std::string(id.size() - 4, '*') + std::string(id.substr(id.size() - 4));
}

Result<S3Options> S3Options::FromEnv() {
  return FromLookup([](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  });
}

Result<S3Options> S3Options::FromLookup(const EnvLookup& getenv) {
  S3Options o;
  const std::string home = HomeDir(getenv);

  // The profile: AWS_PROFILE names one explicitly, else "default" if present.
  auto profile_var = FirstSet(getenv, {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"});
  const std::string profile_name = profile_var ? profile_var->second : "default";
  auto credentials_path_var = FirstSet(getenv, {"AWS_SHARED_CREDENTIALS_FILE"});
  auto config_path_var = FirstSet(getenv, {"AWS_CONFIG_FILE"});
  const std::string credentials_path =
      ExpandHome(credentials_path_var ? credentials_path_var->second : "~/.aws/credentials", home);
  const std::string config_path =
      ExpandHome(config_path_var ? config_path_var->second : "~/.aws/config", home);
  auto credential_profiles = LoadSharedFile(credentials_path, /*config=*/false);
  auto config_profiles = LoadSharedFile(config_path, /*config=*/true);
  const ProfileSettings* cred_profile = nullptr;
  const ProfileSettings* conf_profile = nullptr;
  if (auto it = credential_profiles.find(profile_name); it != credential_profiles.end()) {
    cred_profile = &it->second;
  }
  if (auto it = config_profiles.find(profile_name); it != config_profiles.end()) {
    conf_profile = &it->second;
  }
  if (profile_var && cred_profile == nullptr && conf_profile == nullptr) {
    return Status::InvalidArgument(profile_var->first + "='" + profile_name + "': no profile [" +
                                   profile_name + "] in " + credentials_path + " and no [profile " +
                                   profile_name + "] in " + config_path);
  }
  auto from_config = [&](const std::string& key) -> std::optional<std::string> {
    if (conf_profile == nullptr) return std::nullopt;
    auto it = conf_profile->find(key);
    if (it == conf_profile->end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
  const std::string config_where = "profile '" + profile_name + "' in " + config_path;

  // The seed's S3_USE_SSL (default true) picks the scheme of an endpoint given without one,
  // and of AWS itself; an endpoint whose scheme says otherwise is an error, not a silent pick.
  std::optional<bool> use_ssl;
  if (auto v = FirstSet(getenv, {"S3_USE_SSL"})) {
    LP_ASSIGN_OR_RETURN(use_ssl, ParseBool(v->first, v->second));
    o.use_ssl = *use_ssl;
  }
  auto set_endpoint = [&](const std::string& where, const std::string& raw) -> Status {
    const bool has_scheme = raw.find("://") != std::string::npos;
    o.endpoint =
        NormalizeEndpoint(use_ssl && !has_scheme ? (*use_ssl ? "https://" : "http://") + raw : raw);
    LP_RETURN_IF_ERROR(CheckEndpoint(where, o.endpoint));
    if (use_ssl && has_scheme && (Lower(o.endpoint).rfind("https://", 0) == 0) != *use_ssl) {
      return Status::InvalidArgument(std::string("S3_USE_SSL=") + (*use_ssl ? "true" : "false") +
                                     ", but " + where + "='" + raw + "' says otherwise");
    }
    return Status::OK();
  };
  // Endpoint: service-specific first, then generic, then the seeds' MinIO name, then config.
  if (auto v = FirstSet(getenv, {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "MINIO_SERVER"})) {
    LP_RETURN_IF_ERROR(set_endpoint(v->first, v->second));
  } else if (auto c = from_config("s3.endpoint_url") ? from_config("s3.endpoint_url")
                                                     : from_config("endpoint_url")) {
    LP_RETURN_IF_ERROR(set_endpoint("endpoint_url of " + config_where, *c));
  }

  // The seed's S3_REGION names the region for its S3 only: it comes before AWS's own.
  if (auto v = FirstSet(getenv, {"S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"})) {
    o.region = v->second;
  } else if (auto c = from_config("region")) {
    o.region = *c;
  }

  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_ADDRESSING"})) {
    LP_ASSIGN_OR_RETURN(o.addressing, ParseAddressing(v->first, v->second));
  } else if (auto c = from_config("s3.addressing_style")) {
    LP_ASSIGN_OR_RETURN(o.addressing,
                        ParseAddressing("s3.addressing_style of " + config_where, *c));
  }

  // Credentials: each half from the first of its names that is set, so that the seeds'
  // AWS_ACCESS_KEY / AWS_SECRET_KEY and MINIO_ACCESS_KEY / MINIO_SECRET_KEY work as aliases.
  auto id = FirstSet(getenv, {"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "MINIO_ACCESS_KEY"});
  auto secret = FirstSet(getenv, {"AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "MINIO_SECRET_KEY"});
  if (id && !secret) {
    return Status::InvalidArgument(id->first +
                                   " is set but no secret key is (AWS_SECRET_ACCESS_KEY, "
                                   "AWS_SECRET_KEY or MINIO_SECRET_KEY)");
  }
  if (secret && !id) {
    return Status::InvalidArgument(secret->first +
                                   " is set but no access key id is (AWS_ACCESS_KEY_ID, "
                                   "AWS_ACCESS_KEY or MINIO_ACCESS_KEY)");
  }
  if (id) {
    o.credentials.access_key_id = id->second;
    o.credentials.secret_access_key = secret->second;
    if (auto token = FirstSet(getenv, {"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"})) {
      o.credentials.session_token = token->second;
    }
    o.credentials_source = "environment (" + id->first + ")";
  } else {
    // The credentials file wins over the config file, as in the AWS CLI.
    for (auto [settings, path] : {std::make_pair(cred_profile, credentials_path),
                                  std::make_pair(conf_profile, config_path)}) {
      if (settings == nullptr) continue;
      auto key = settings->find("aws_access_key_id");
      auto sec = settings->find("aws_secret_access_key");
      if (key == settings->end() || sec == settings->end() || key->second.empty()) continue;
      o.credentials.access_key_id = key->second;
      o.credentials.secret_access_key = sec->second;
      if (auto tok = settings->find("aws_session_token"); tok != settings->end()) {
        o.credentials.session_token = tok->second;
      }
      o.credentials_source = "profile '" + profile_name + "' in " + path;
      break;
    }
    if (o.credentials.anonymous() && profile_var) {
      return Status::InvalidArgument(
          profile_var->first + "='" + profile_name +
          "': the profile holds no aws_access_key_id/aws_secret_access_key (role_arn, sso and "
          "credential_process profiles are not supported; export AWS_ACCESS_KEY_ID and "
          "AWS_SECRET_ACCESS_KEY instead)");
    }
  }

  if (auto v = FirstSet(getenv, {"AWS_CA_BUNDLE"})) {
    o.ca_bundle = ExpandHome(v->second, home);
  } else if (auto c = from_config("ca_bundle")) {
    o.ca_bundle = ExpandHome(*c, home);
  }

  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_CONCURRENCY"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 1, 1024));
    o.concurrency = static_cast<int>(n);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_MULTIPART_THRESHOLD"})) {
    LP_ASSIGN_OR_RETURN(o.multipart_threshold, ParseSize(v->first, v->second));
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_PART_SIZE"})) {
    LP_ASSIGN_OR_RETURN(o.part_size, ParseSize(v->first, v->second));
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_MAX_RETRIES"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 0, 100));
    o.max_retries = static_cast<int>(n);
  } else if (auto a = FirstSet(getenv, {"AWS_MAX_ATTEMPTS"})) {
    // The AWS CLI counts attempts, the first included.
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(a->first, a->second, 1, 101));
    o.max_retries = static_cast<int>(n - 1);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_RETRY_BASE_MS"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 1, 60000));
    o.retry_base_ms = static_cast<int>(n);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_RETRY_MAX_DELAY_MS"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 1, 600000));
    o.retry_max_delay_ms = static_cast<int>(n);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_RETRY_MAX_TIME_S"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 1, 86400));
    o.retry_max_time_s = static_cast<int>(n);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_CONNECT_TIMEOUT_MS"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 1, 600000));
    o.connect_timeout_ms = static_cast<int>(n);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_IDLE_TIMEOUT_S"})) {
    LP_ASSIGN_OR_RETURN(int64_t n, ParseInt(v->first, v->second, 1, 3600));
    o.idle_timeout_s = static_cast<int>(n);
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_SIGN_PAYLOAD"})) {
    LP_ASSIGN_OR_RETURN(o.sign_payload, ParseBool(v->first, v->second));
  }
  if (auto v = FirstSet(getenv, {"LAKEPACK_S3_DEBUG"})) {
    LP_ASSIGN_OR_RETURN(o.debug, ParseBool(v->first, v->second));
  }
  LP_RETURN_IF_ERROR(o.Validate());
  return o;
}

Status S3Options::Validate() const {
  if (!endpoint.empty()) LP_RETURN_IF_ERROR(CheckEndpoint("endpoint", endpoint));
  if (region.empty()) return Status::InvalidArgument("S3 region is empty");
  for (char c : region) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return Status::InvalidArgument("S3 region '" + region + "' holds the character '" +
                                     std::string(1, c) + "'");
    }
  }
  if (concurrency < 1) return Status::InvalidArgument("S3 concurrency must be at least 1");
  if (part_size < kMinPartSize || part_size > kMaxPartSize) {
    return Status::InvalidArgument("S3 part size " + std::to_string(part_size) +
                                   " is outside S3's limits (5 MiB to 5 GiB)");
  }
  if (multipart_threshold < 1 || multipart_threshold > kMaxSinglePutSize) {
    return Status::InvalidArgument("S3 multipart threshold " + std::to_string(multipart_threshold) +
                                   " must be from 1 byte to 5 GiB (the largest single PUT)");
  }
  if (max_retries < 0 || retry_base_ms < 1 || retry_max_delay_ms < 1 || retry_max_time_s < 1) {
    return Status::InvalidArgument("S3 retry settings must be positive");
  }
  return Status::OK();
}

std::shared_ptr<const RetryStrategy> S3Options::Retry() const {
  if (retry_strategy) return retry_strategy;
  return std::make_shared<ExponentialBackoffRetry>(
      max_retries, std::chrono::milliseconds(retry_base_ms),
      std::chrono::milliseconds(retry_max_delay_ms),
      std::chrono::milliseconds(int64_t{retry_max_time_s} * 1000));
}

int64_t S3Options::PartSizeFor(int64_t size) const {
  int64_t part = std::max(part_size, kMinPartSize);
  if ((size + part - 1) / part > kMaxPartsPerUpload) {
    part = (size + kMaxPartsPerUpload - 1) / kMaxPartsPerUpload;
    constexpr int64_t kMiB = int64_t{1} << 20;
    part = (part + kMiB - 1) / kMiB * kMiB;  // whole MiB: easier on the eye in logs
  }
  return part;
}

bool S3Options::UsePathStyle(std::string_view bucket) const {
  if (addressing == Addressing::kPath) return true;
  if (addressing == Addressing::kVirtual) return false;
  if (!endpoint.empty()) return true;  // S3-compatible servers rarely have wildcard DNS
  // Dotted names break the wildcard TLS certificate of virtual hosts; names with upper case
  // or '_' are not valid host names at all.
  for (char c : bucket) {
    if (c == '.' || c == '_' || std::isupper(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

std::string S3Options::AwsEndpoint() const {
  return std::string(use_ssl ? "https" : "http") + "://s3." + region + ".amazonaws.com";
}

std::string S3Options::ToString() const {
  std::ostringstream out;
  out << "endpoint: " << (endpoint.empty() ? AwsEndpoint() + " (AWS)" : endpoint) << "\n";
  out << "region: " << region << "\n";
  out << "addressing: "
      << (addressing == Addressing::kPath      ? "path"
          : addressing == Addressing::kVirtual ? "virtual"
                                               : "auto")
      << "\n";
  out << "credentials: " << credentials_source << "\n";
  out << "access_key_id: "
      << (credentials.anonymous() ? "<none>" : MaskAccessKeyId(credentials.access_key_id)) << "\n";
  out << "secret_access_key: " << (credentials.secret_access_key.empty() ? "<none>" : "<redacted>")
      << "\n";
  out << "session_token: " << (credentials.session_token.empty() ? "<none>" : "<redacted>") << "\n";
  out << "ca_bundle: " << (ca_bundle.empty() ? "<system>" : ca_bundle) << "\n";
  out << "concurrency: " << concurrency << "\n";
  out << "multipart_threshold: " << multipart_threshold << "\n";
  out << "part_size: " << part_size << "\n";
  out << "sign_payload: " << (sign_payload ? "true" : "false") << "\n";
  out << "retry: " << Retry()->Describe() << "\n";
  out << "connect_timeout_ms: " << connect_timeout_ms << "\n";
  out << "idle_timeout_s: " << idle_timeout_s << "\n";
  out << "debug: " << (debug ? "true" : "false") << "\n";
  return out.str();
}

}  // namespace lakepack::s3
