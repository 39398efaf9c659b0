// Status and Result<T>: how every lakepack function reports failure (no exceptions).
// Thread-safety: a Status is an immutable value; copies may be used from any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace lakepack {

enum class StatusCode {
  kOk = 0,
  kNotFound,           // an object, file or table that does not exist
  kInvalidArgument,    // bad usage: flags, URIs, keys, formats, codecs
  kIOError,            // the local disk or the network failed
  kUnauthenticated,    // credentials were refused
  kRetryable,          // a transient failure: may succeed if tried again
  kCorruption,         // data that cannot be parsed or does not verify
  kCancelled,          // the caller asked to stop
  kAlreadyExists,      // a create-only write found the target in place
  kFailedPrecondition  // the world is not in the state the operation requires
};

//! Name of a code as users see it ("NotFound", "IOError", ...).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  //! An OK status allocates nothing.
  Status() = default;
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) {
    return {StatusCode::kInvalidArgument, std::move(msg)};
  }
  static Status IOError(std::string msg) { return {StatusCode::kIOError, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) {
    return {StatusCode::kUnauthenticated, std::move(msg)};
  }
  static Status Retryable(std::string msg) { return {StatusCode::kRetryable, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) {
    return {StatusCode::kAlreadyExists, std::move(msg)};
  }
  static Status FailedPrecondition(std::string msg) {
    return {StatusCode::kFailedPrecondition, std::move(msg)};
  }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  //! The message alone, without the code name. Empty when OK.
  const std::string& message() const;
  //! "IOError: message", or "OK".
  std::string ToString() const;

  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsAlreadyExists() const { return code() == StatusCode::kAlreadyExists; }
  bool IsRetryable() const { return code() == StatusCode::kRetryable; }

  //! Returns a copy whose message is "context: message"; OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  // Shared so that copying an error is cheap; the state is never mutated after creation.
  std::shared_ptr<const State> state_;
};

//! Either a value or an error Status. REQUIRES: constructed from a non-OK Status or a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  //! OK when a value is held.
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  //! REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  T ValueOr(T fallback) const& { return ok() ? std::get<T>(v_) : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

//! errno → Status, the one place where it happens. `context` names the file and the action.
Status PosixError(std::string_view context, int err);

}  // namespace lakepack

#define LP_CONCAT_INNER(a, b) a##b
#define LP_CONCAT(a, b) LP_CONCAT_INNER(a, b)

//! Returns the Status from the enclosing function when `expr` is not OK.
#define LP_RETURN_IF_ERROR(expr)        \
  do {                                  \
    ::lakepack::Status _lp_st = (expr); \
    if (!_lp_st.ok()) return _lp_st;    \
  } while (0)

#define LP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

//! `LP_ASSIGN_OR_RETURN(auto x, F());` assigns the value or returns the error.
#define LP_ASSIGN_OR_RETURN(lhs, expr) \
  LP_ASSIGN_OR_RETURN_IMPL(LP_CONCAT(_lp_res_, __LINE__), lhs, expr)
