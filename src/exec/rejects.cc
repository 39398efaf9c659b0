// The rejects file (see rejects.h).
#include "exec/rejects.h"

#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "store/s3/crypto.h"

namespace lakepack {

Result<std::unique_ptr<RejectsFile>> RejectsFile::Create(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return PosixError("--rejects " + path, errno);
  return std::unique_ptr<RejectsFile>(new RejectsFile(path, f));
}

RejectsFile::~RejectsFile() {
  if (f_) std::fclose(f_);
}

void RejectsFile::ShowAs(const std::string& local, const std::string& shown) {
  std::lock_guard<std::mutex> lock(mu_);
  shown_[local] = shown;
}

void RejectsFile::Reject(const std::string& file, int64_t line, std::string_view reason,
                         std::string_view text) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = shown_.find(file);
  std::string_view body = text;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  nlohmann::json j = {{"file", it == shown_.end() ? file : it->second},
                      {"line", line},
                      {"reason", std::string(reason)},
                      {"text", std::string(body)}};
  std::string out;
  try {
    out = j.dump();
  } catch (const nlohmann::json::type_error&) {
    // Not UTF-8: keep the exact bytes beside a readable rendering.
    j["bytes_base64"] = s3::Base64Encode(body);
    out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  out += '\n';
  if (std::fwrite(out.data(), 1, out.size(), f_) != out.size()) write_failed_ = true;
  count_++;
}

Status RejectsFile::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  if (write_failed_ || std::fflush(f_) != 0 || ::fsync(::fileno(f_)) != 0) {
    return PosixError("--rejects " + path_, errno ? errno : EIO);
  }
  return Status::OK();
}

}  // namespace lakepack
