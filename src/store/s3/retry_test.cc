// The default retry strategy: what it retries, how long it waits, and when it gives up.
#include "store/s3/retry.h"

#include <gtest/gtest.h>

#include "store/s3/errors.h"

namespace lakepack::s3 {
namespace {

using std::chrono::milliseconds;

TEST(RetryTest, RetriesOnlyTransientFailures) {
  ExponentialBackoffRetry retry(3, milliseconds(100), milliseconds(1000), milliseconds(60000));
  AttemptFailure transient{Status::Retryable("503"), 503, "SlowDown"};
  AttemptFailure refused{Status::Unauthenticated("403"), 403, "AccessDenied"};
  EXPECT_TRUE(retry.NextDelay(transient, 1, milliseconds(0)).has_value());
  EXPECT_TRUE(retry.NextDelay(transient, 3, milliseconds(0)).has_value());
  EXPECT_FALSE(retry.NextDelay(transient, 4, milliseconds(0)).has_value()) << "3 retries max";
  EXPECT_FALSE(retry.NextDelay(refused, 1, milliseconds(0)).has_value());
  EXPECT_FALSE(retry.NextDelay(transient, 1, milliseconds(60000)).has_value()) << "time is up";
}

TEST(RetryTest, FullJitterStaysUnderTheCappedExponentialCeiling) {
  ExponentialBackoffRetry retry(20, milliseconds(100), milliseconds(1000), milliseconds(600000));
  EXPECT_EQ(retry.Ceiling(1), milliseconds(100));
  EXPECT_EQ(retry.Ceiling(2), milliseconds(200));
  EXPECT_EQ(retry.Ceiling(4), milliseconds(800));
  EXPECT_EQ(retry.Ceiling(5), milliseconds(1000));
  EXPECT_EQ(retry.Ceiling(40), milliseconds(1000));
  AttemptFailure transient{Status::Retryable("x"), 500, "InternalError"};
  int64_t sum = 0;
  for (int i = 0; i < 200; ++i) {
    auto d = retry.NextDelay(transient, 2, milliseconds(0));
    ASSERT_TRUE(d.has_value());
    EXPECT_GE(d->count(), 0);
    EXPECT_LE(d->count(), 200);
    sum += d->count();
  }
  // Uniform on [0, 200]: the mean is near 100, not pinned to either end.
  EXPECT_GT(sum / 200, 50);
  EXPECT_LT(sum / 200, 150);
}

TEST(RetryTest, TransientS3CodesAndStatuses) {
  EXPECT_TRUE(IsTransientS3Error(503, "SlowDown"));
  EXPECT_TRUE(IsTransientS3Error(500, ""));
  EXPECT_TRUE(IsTransientS3Error(429, ""));
  EXPECT_TRUE(IsTransientS3Error(400, "RequestTimeout"));
  EXPECT_TRUE(IsTransientS3Error(200, "InternalError"));
  EXPECT_FALSE(IsTransientS3Error(403, "SignatureDoesNotMatch"));
  EXPECT_FALSE(IsTransientS3Error(404, "NoSuchKey"));
  EXPECT_FALSE(IsTransientS3Error(400, "InvalidArgument"));
  EXPECT_FALSE(IsTransientS3Error(501, "NotImplemented"));
  EXPECT_FALSE(IsTransientS3Error(501, ""));
  EXPECT_TRUE(CurlFailure(56, "Recv failure: Connection reset by peer").IsRetryable());
  EXPECT_TRUE(CurlFailure(28, "Operation timed out").IsRetryable());
  EXPECT_TRUE(CurlFailure(18, "transfer closed with 10 bytes remaining").IsRetryable());
  EXPECT_FALSE(CurlFailure(60, "SSL certificate problem").IsRetryable());
  EXPECT_NE(CurlFailure(60, "SSL certificate problem").message().find("AWS_CA_BUNDLE"),
            std::string::npos);
}

TEST(S3ErrorTest, ParsesErrorDocumentsIntoOneLine) {
  S3Error e = ParseS3Error(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
      "<Message>The request signature we calculated\ndoes not match</Message>"
      "<StringToSign>AWS4-HMAC-SHA256...</StringToSign><RequestId>R1</RequestId></Error>");
  EXPECT_EQ(e.code, "SignatureDoesNotMatch");
  EXPECT_EQ(e.message, "The request signature we calculated does not match");
  EXPECT_EQ(e.request_id, "R1");
  EXPECT_TRUE(ParseS3Error("not xml").code.empty());
  EXPECT_TRUE(IsErrorDocument("<Error><Code>InternalError</Code></Error>"));
  EXPECT_FALSE(IsErrorDocument("<CopyObjectResult><ETag>x</ETag></CopyObjectResult>"));

  RequestContext ctx{"s3://bkt/key", "PUT", "http://127.0.0.1:9000", "bkt", "us-east-1", false};
  HttpResponse resp;
  resp.status = 403;
  Status st = S3Failure(ctx, resp, e);
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(st.message(),
            "s3://bkt/key: PUT refused by http://127.0.0.1:9000: SignatureDoesNotMatch: The "
            "request signature we calculated does not match");
  resp.status = 404;
  st = S3Failure(ctx, resp, S3Error{"NoSuchBucket", "The specified bucket does not exist", ""});
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("bucket 'bkt' does not exist at http://127.0.0.1:9000"),
            std::string::npos);
  resp.status = 503;
  EXPECT_TRUE(
      S3Failure(ctx, resp, S3Error{"SlowDown", "Reduce your request rate", ""}).IsRetryable());
  resp.status = 301;
  resp.headers["x-amz-bucket-region"] = "eu-west-1";
  st = S3Failure(ctx, resp, S3Error{"PermanentRedirect", "", ""});
  EXPECT_NE(st.message().find("set AWS_REGION=eu-west-1"), std::string::npos) << st.message();
  // A body-less 400 to a signed HEAD still says what was refused.
  RequestContext head{"s3://bkt/key", "HEAD", "http://127.0.0.1:9000", "bkt", "us-east-1",
                      false,          true};
  HttpResponse bare;
  bare.status = 400;
  st = S3Failure(head, bare, S3Error{});
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(st.message().find("400 Bad Request (HEAD responses carry no error code; a 400 means "
                              "the request's session token (AWS_SESSION_TOKEN)"),
            std::string::npos)
      << st.message();
}

}  // namespace
}  // namespace lakepack::s3
