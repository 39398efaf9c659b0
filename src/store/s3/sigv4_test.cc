// SigV4 known answers: the four examples of the AWS S3 documentation ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single Chunk") and
// two requests signed by botocore 1.43 (S3SigV4Auth, clock fixed at 2024-03-09T12:34:56Z).
#include "store/s3/sigv4.h"

#include <gtest/gtest.h>

#include "store/s3/crypto.h"

namespace lakepack::s3 {
namespace {

constexpr std::time_t k20130524 = 1369353600;  // 2013-05-24T00:00:00Z
constexpr std::time_t k20240309 = 1709987696;  // 2024-03-09T12:34:56Z

const Credentials kDocCredentials{"AKIAIOSFODNN7EXAMPLE",
                                  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

std::string HeaderValue(const RequestToSign& req, const std::string& name) {
  for (const auto& [n, v] : req.headers) {
    if (n == name) return v;
  }
  return "";
}

std::string SignatureOf(const RequestToSign& req) {
  std::string auth = HeaderValue(req, "Authorization");
  size_t pos = auth.find("Signature=");
  return pos == std::string::npos ? "" : auth.substr(pos + 10);
}

TEST(SigV4Test, AwsExampleGetObjectWithRange) {
  RequestToSign req;
  req.method = "GET";
  req.encoded_path = "/test.txt";
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"}};
  req.payload_hash = std::string(kEmptyPayloadHash);
  SignV4(kDocCredentials, "us-east-1", "s3", k20130524, &req);
  EXPECT_EQ(HeaderValue(req, "Authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
            "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(HeaderValue(req, "x-amz-date"), "20130524T000000Z");
}

TEST(SigV4Test, AwsExamplePutObject) {
  RequestToSign req;
  req.method = "PUT";
  req.encoded_path = "/" + UriEncode("test$file.text", true);
  EXPECT_EQ(req.encoded_path, "/test%24file.text");
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  req.payload_hash = HexEncode(Sha256("Welcome to Amazon S3."));
  EXPECT_EQ(req.payload_hash, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  SignV4(kDocCredentials, "us-east-1", "s3", k20130524, &req);
  EXPECT_NE(
      HeaderValue(req, "Authorization")
          .find("SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class"),
      std::string::npos);
  EXPECT_EQ(SignatureOf(req), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(SigV4Test, AwsExampleGetBucketLifecycle) {
  RequestToSign req;
  req.method = "GET";
  req.encoded_path = "/";
  req.query = {{"lifecycle", ""}};
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  req.payload_hash = std::string(kEmptyPayloadHash);
  SignV4(kDocCredentials, "us-east-1", "s3", k20130524, &req);
  EXPECT_EQ(SignatureOf(req), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(SigV4Test, AwsExampleListObjects) {
  RequestToSign req;
  req.method = "GET";
  req.encoded_path = "/";
  req.query = {{"prefix", "J"}, {"max-keys", "2"}};  // unsorted on purpose
  req.headers = {{"Host", "examplebucket.s3.amazonaws.com"}};
  req.payload_hash = std::string(kEmptyPayloadHash);
  SigningTrace trace;
  SignV4(kDocCredentials, "us-east-1", "s3", k20130524, &req, &trace);
  EXPECT_EQ(SignatureOf(req), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  EXPECT_EQ(
      trace.canonical_request,
      "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
      "x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
      "x-amz-date:20130524T000000Z\n\nhost;x-amz-content-sha256;x-amz-date\n"
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(trace.string_to_sign.find(kDocCredentials.secret_access_key), std::string::npos);
}

// botocore: PUT http://127.0.0.1:9000/my-bucket/dir/h%C3%A9llo%20w%2Brld%21%27%28%29%2A.txt
// with Content-MD5, If-None-Match: *, Content-Type: text/plain, body "hello", eu-west-1.
TEST(SigV4Test, BotocorePutOfAnAwkwardKey) {
  RequestToSign req;
  req.method = "PUT";
  req.encoded_path = "/my-bucket/" + UriEncode("dir/h\xc3\xa9llo w+rld!'()*.txt", true);
  EXPECT_EQ(req.encoded_path, "/my-bucket/dir/h%C3%A9llo%20w%2Brld%21%27%28%29%2A.txt");
  req.headers = {{"Content-MD5", "XUFAKrxLKna5cZ2REBfFkg=="},
                 {"If-None-Match", "*"},
                 {"Content-Type", "text/plain"},
                 {"Host", "127.0.0.1:9000"}};
  req.payload_hash = HexEncode(Sha256("hello"));
  SignV4({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""}, "eu-west-1", "s3",
         k20240309, &req);
  EXPECT_NE(HeaderValue(req, "Authorization")
                .find("SignedHeaders=content-md5;content-type;host;if-none-match;"
                      "x-amz-content-sha256;x-amz-date,"),
            std::string::npos);
  EXPECT_EQ(SignatureOf(req), "035fd0e235e1096ab7975328722205eccc45ebd5385f4f622bb39d530d9a4c8c");
}

// botocore: a ListObjectsV2 page with a session token and query values that need encoding.
TEST(SigV4Test, BotocoreListWithSessionTokenAndEncodedQuery) {
  RequestToSign req;
  req.method = "GET";
  req.encoded_path = "/my-bucket";
  req.query = {{"list-type", "2"},    {"encoding-type", "url"}, {"max-keys", "1000"},
               {"prefix", "a b/c~d"}, {"delimiter", "/"},       {"continuation-token", "1/ab+c="}};
  req.headers = {{"Host", "127.0.0.1:9000"}};
  req.payload_hash = std::string(kEmptyPayloadHash);
  const Credentials creds{"ASIAEXAMPLE", "secret/with+chars", "FQoGZXIvYXdzEXAMPLETOKEN//+="};
  SignV4(creds, "us-east-1", "s3", k20240309, &req);
  EXPECT_EQ(HeaderValue(req, "x-amz-security-token"), creds.session_token);
  EXPECT_NE(HeaderValue(req, "Authorization")
                .find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"),
            std::string::npos);
  EXPECT_EQ(SignatureOf(req), "ef3e71aef9a4a88359ef3e49294fb97484bd44c694055efefa5bc255f0b0ca26");
  EXPECT_EQ(CanonicalQueryString(req.query),
            "continuation-token=1%2Fab%2Bc%3D&delimiter=%2F&encoding-type=url&list-type=2&"
            "max-keys=1000&prefix=a%20b%2Fc~d");
}

TEST(SigV4Test, AnonymousRequestsAreNotSigned) {
  RequestToSign req;
  req.method = "GET";
  req.encoded_path = "/b/k";
  req.headers = {{"Host", "h"}};
  req.payload_hash = std::string(kEmptyPayloadHash);
  SignV4(Credentials{}, "us-east-1", "s3", k20240309, &req);
  EXPECT_EQ(HeaderValue(req, "Authorization"), "");
}

TEST(SigV4Test, UriEncodingFollowsAwsRules) {
  EXPECT_EQ(UriEncode("AZaz09-._~", false), "AZaz09-._~");
  EXPECT_EQ(UriEncode("a/b c+d", true), "a/b%20c%2Bd");
  EXPECT_EQ(UriEncode("a/b", false), "a%2Fb");
  EXPECT_EQ(UriEncode("\xe6\x97\xa5", true), "%E6%97%A5");
  EXPECT_EQ(UriEncode("%20", true), "%2520");
  EXPECT_EQ(UriDecode("a%20b+c%2Bd", true), "a b c+d");
  EXPECT_EQ(UriDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(UriDecode("bad%zz%4", true), "bad%zz%4");
}

TEST(SigV4Test, HeaderValuesAreTrimmedAndFolded) {
  RequestToSign req;
  req.method = "GET";
  req.encoded_path = "/";
  req.headers = {{"Host", "h"}, {"X-Amz-Meta-A", "  one   two  "}};
  req.payload_hash = "x";
  std::string signed_headers;
  std::string canonical = CanonicalRequest(req, &signed_headers);
  EXPECT_NE(canonical.find("\nx-amz-meta-a:one two\n"), std::string::npos) << canonical;
  EXPECT_EQ(signed_headers, "host;x-amz-meta-a");
}

TEST(CryptoTest, KnownDigests) {
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Base64Encode(Md5("hello")), "XUFAKrxLKna5cZ2REBfFkg==");
  EXPECT_EQ(HexEncode(Sha256("")), kEmptyPayloadHash);
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("ab"), "YWI=");
  StreamingDigest d(true);
  d.Update("hel", 3);
  d.Update("lo", 2);
  std::string md5, sha;
  d.Finish(&md5, &sha);
  EXPECT_EQ(md5, Md5("hello"));
  EXPECT_EQ(sha, Sha256("hello"));
}

}  // namespace
}  // namespace lakepack::s3
