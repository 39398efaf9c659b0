// Unit tests for Status, Result<T>, the LP_ macros and the errno translation.
#include "lakepack/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

namespace lakepack {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status st;
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kOk);
  EXPECT_EQ(st.message(), "");
  EXPECT_EQ(st.ToString(), "OK");
  EXPECT_TRUE(Status::OK().ok());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    const char* name;
  };
  const Case cases[] = {
      {Status::NotFound("m"), StatusCode::kNotFound, "NotFound"},
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "InvalidArgument"},
      {Status::IOError("m"), StatusCode::kIOError, "IOError"},
      {Status::Unauthenticated("m"), StatusCode::kUnauthenticated, "Unauthenticated"},
      {Status::Retryable("m"), StatusCode::kRetryable, "Retryable"},
      {Status::Corruption("m"), StatusCode::kCorruption, "Corruption"},
      {Status::Cancelled("m"), StatusCode::kCancelled, "Cancelled"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists, "AlreadyExists"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition, "FailedPrecondition"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(c.status.ok()) << c.name;
    EXPECT_EQ(c.status.code(), c.code) << c.name;
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
  }
  EXPECT_TRUE(Status::NotFound("x").IsNotFound());
  EXPECT_TRUE(Status::AlreadyExists("x").IsAlreadyExists());
  EXPECT_TRUE(Status::Retryable("x").IsRetryable());
  EXPECT_FALSE(Status::IOError("x").IsNotFound());
}

TEST(StatusTest, ConstructingWithOkCodeIsOk) {
  Status st(StatusCode::kOk, "ignored");
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.message(), "");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status st = Status::NotFound("no such key").WithContext("read s3://b/k");
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "read s3://b/k: no such key");
  EXPECT_TRUE(Status::OK().WithContext("ctx").ok());
}

TEST(StatusTest, CopiesShareTheSameError) {
  Status a = Status::IOError("disk full");
  Status b = a;
  EXPECT_EQ(b.code(), StatusCode::kIOError);
  EXPECT_EQ(&a.message(), &b.message()) << "copying an error should not copy its message";
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.ValueOr(7), 42);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = Status::Corruption("bad footer");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(r.status().message(), "bad footer");
  EXPECT_EQ(r.ValueOr(7), 7);
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, ArrowReachesMembers) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3u);
}

Status FailIf(bool fail) { return fail ? Status::IOError("failed") : Status::OK(); }

Status Chain(bool fail, int* reached) {
  LP_RETURN_IF_ERROR(FailIf(fail));
  *reached = 1;
  return Status::OK();
}

TEST(MacroTest, ReturnIfErrorReturnsEarly) {
  int reached = 0;
  EXPECT_EQ(Chain(true, &reached).code(), StatusCode::kIOError);
  EXPECT_EQ(reached, 0);
  EXPECT_TRUE(Chain(false, &reached).ok());
  EXPECT_EQ(reached, 1);
}

Result<int> Half(int x) {
  if (x % 2 != 0) return Status::InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  LP_ASSIGN_OR_RETURN(int half, Half(x));
  LP_ASSIGN_OR_RETURN(auto quarter, Half(half));
  return quarter;
}

TEST(MacroTest, AssignOrReturn) {
  Result<int> ok = Quarter(8);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  Result<int> bad = Quarter(6);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "3 is odd");
}

Status AssignExisting(int x, int* out) {
  int value = 0;
  LP_ASSIGN_OR_RETURN(value, Half(x));
  *out = value;
  return Status::OK();
}

TEST(MacroTest, AssignOrReturnIntoExistingVariable) {
  int out = 0;
  EXPECT_TRUE(AssignExisting(10, &out).ok());
  EXPECT_EQ(out, 5);
  EXPECT_FALSE(AssignExisting(3, &out).ok());
  EXPECT_EQ(out, 5);
}

TEST(PosixErrorTest, MapsErrnoToCodes) {
  EXPECT_EQ(PosixError("x", ENOENT).code(), StatusCode::kNotFound);
  EXPECT_EQ(PosixError("x", ENOTDIR).code(), StatusCode::kNotFound);
  EXPECT_EQ(PosixError("x", EEXIST).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(PosixError("x", EINVAL).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PosixError("x", ENAMETOOLONG).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PosixError("x", EISDIR).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PosixError("x", EINTR).code(), StatusCode::kRetryable);
  EXPECT_EQ(PosixError("x", EAGAIN).code(), StatusCode::kRetryable);
  EXPECT_EQ(PosixError("x", EACCES).code(), StatusCode::kIOError);
  EXPECT_EQ(PosixError("x", EPERM).code(), StatusCode::kIOError);
  EXPECT_EQ(PosixError("x", ENOSPC).code(), StatusCode::kIOError);
  EXPECT_EQ(PosixError("x", EIO).code(), StatusCode::kIOError);
}

TEST(PosixErrorTest, MessageNamesContextAndReason) {
  Status st = PosixError("open /data/lake/a.csv", ENOENT);
  EXPECT_EQ(st.message(), "open /data/lake/a.csv: No such file or directory");
  EXPECT_EQ(st.ToString(), "NotFound: open /data/lake/a.csv: No such file or directory");
}

}  // namespace
}  // namespace lakepack
