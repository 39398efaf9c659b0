// End-to-end on real S3 servers (moto, started by the CTest fixture): convert and inspect with
// s3:// URIs, and a wrong secret that fails clearly without ever being printed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/harness.h"

namespace lakepack::e2e {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The environment the binary needs to reach the auth-off moto.
std::map<std::string, std::string> MotoEnv() {
  return {{"AWS_ENDPOINT_URL", Env("LAKEPACK_TEST_S3_ENDPOINT")},
          {"AWS_ACCESS_KEY_ID", Env("LAKEPACK_TEST_S3_ACCESS_KEY_ID")},
          {"AWS_SECRET_ACCESS_KEY", Env("LAKEPACK_TEST_S3_SECRET_ACCESS_KEY")},
          {"AWS_REGION", "us-east-1"},
          {"AWS_PROFILE", ""},
          {"AWS_SESSION_TOKEN", ""}};
}

class S3Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(Env("LAKEPACK_TEST_S3_ENDPOINT"), "")
        << "run through ctest: the s3servers fixture provides the S3 servers";
    bucket_ = Env("LAKEPACK_TEST_S3_BUCKET");
    prefix_ = "s3://" + bucket_ + "/e2e-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }
  std::string bucket_, prefix_;
  ScratchDir dir_;
};

TEST_F(S3Cli, ConvertAndInspectS3Objects) {
  WriteFile(dir_ / "in.csv", "id,name,amount\n1,\"a, b\",1.5\n2,ü,\n3,c,-2\n");
  // Upload with convert itself: local CSV → s3 CSV, then s3 CSV → s3 Parquet.
  auto up = Lakepack({"convert", dir_ / "in.csv", prefix_ + "/raw/in.csv"}, MotoEnv());
  ASSERT_EQ(up.exit_code, 0) << up.All();
  auto r = Lakepack(
      {"convert", prefix_ + "/raw/in.csv", prefix_ + "/clean/out.parquet", "--compression", "zstd"},
      MotoEnv());
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("3 rows"), std::string::npos) << r.out;
  auto i = Lakepack({"inspect", prefix_ + "/clean/out.parquet", "--json"}, MotoEnv());
  ASSERT_EQ(i.exit_code, 0) << i.All();
  auto j = nlohmann::json::parse(i.out);
  EXPECT_EQ(j["rows"], 3);
  EXPECT_EQ(j["compression"], nlohmann::json::array({"ZSTD"}));
  // Bring it back and let the independent readers check the values.
  auto down =
      Lakepack({"convert", prefix_ + "/clean/out.parquet", dir_ / "back.parquet"}, MotoEnv());
  ASSERT_EQ(down.exit_code, 0) << down.All();
  ExpectReadersAgree(dir_ / "back.parquet", 3);
}

TEST_F(S3Cli, MissingObjectAndMissingBucket) {
  auto r = Lakepack({"inspect", prefix_ + "/nope.parquet"}, MotoEnv());
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.err.find(prefix_ + "/nope.parquet: no such file or object"), std::string::npos)
      << r.err;
  auto b = Lakepack({"inspect", "s3://no-such-bucket-lakepack/x.parquet"}, MotoEnv());
  EXPECT_EQ(b.exit_code, 1) << b.All();
  EXPECT_NE(b.err.find("no-such-bucket-lakepack"), std::string::npos) << b.err;
}

// The seed's S3_USE_SSL: the scheme of an endpoint given without one. moto speaks plain
// HTTP, so with S3_USE_SSL=0 the run reaches it and with S3_USE_SSL=1 the TLS handshake fails,
// naming the https endpoint; a scheme that contradicts it is an error before any request.
TEST_F(S3Cli, UseSslPicksTheSchemeOfAnEndpointWithoutOne) {
  std::string endpoint = Env("LAKEPACK_TEST_S3_ENDPOINT");  // http://127.0.0.1:PORT
  ASSERT_EQ(endpoint.rfind("http://", 0), 0u) << endpoint;
  std::string bare = endpoint.substr(7);
  WriteFile(dir_ / "in.csv", "a\n1\n");
  auto env = MotoEnv();
  env["AWS_ENDPOINT_URL"] = bare;
  env["S3_USE_SSL"] = "0";
  auto plain = Lakepack({"convert", dir_ / "in.csv", prefix_ + "/ssl0.parquet"}, env);
  EXPECT_EQ(plain.exit_code, 0) << plain.All();
  env["S3_USE_SSL"] = "1";
  auto tls = Lakepack({"inspect", prefix_ + "/ssl0.parquet"}, env);
  EXPECT_EQ(tls.exit_code, 1) << tls.All();
  EXPECT_NE(tls.err.find("https://" + bare), std::string::npos) << tls.err;
  env["AWS_ENDPOINT_URL"] = endpoint;
  auto contradicts = Lakepack({"inspect", prefix_ + "/ssl0.parquet"}, env);
  EXPECT_NE(contradicts.exit_code, 0) << contradicts.All();
  EXPECT_NE(contradicts.err.find("S3_USE_SSL=true, but AWS_ENDPOINT_URL='" + endpoint +
                                 "' says otherwise"),
            std::string::npos)
      << contradicts.err;
}

TEST_F(S3Cli, WrongSecretFailsClearlyAndIsNeverPrinted) {
  std::string endpoint = Env("LAKEPACK_TEST_S3_AUTH_ENDPOINT");
  std::string bucket = Env("LAKEPACK_TEST_S3_AUTH_BUCKET");
  std::string key = Env("LAKEPACK_TEST_S3_AUTH_ACCESS_KEY_ID");
  ASSERT_NE(endpoint, "");
  WriteFile(dir_ / "in.csv", "a\n1\n");
  std::string wrong = "WrongSecretZq8Xv3Nt5Lm2Pw7Kd9Hs4Jf6Gb1";
  std::map<std::string, std::string> env = {
      {"AWS_ENDPOINT_URL", endpoint}, {"AWS_ACCESS_KEY_ID", key}, {"AWS_SECRET_ACCESS_KEY", wrong},
      {"AWS_REGION", "us-east-1"},    {"AWS_PROFILE", ""},        {"LAKEPACK_S3_DEBUG", "1"}};
  for (auto args : std::vector<std::vector<std::string>>{
           {"convert", dir_ / "in.csv", "s3://" + bucket + "/wrong.parquet"},
           {"inspect", "s3://" + bucket + "/wrong.parquet"},
           {"--json", "convert", "s3://" + bucket + "/x.csv", dir_ / "x.parquet"},
           {"validate", "s3://" + bucket + "/"},
           {"validate", "s3://" + bucket + "/x.parquet"}}) {
    auto r = Lakepack(args, env);
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_EQ(r.All().find(wrong), std::string::npos) << "the secret was printed: " << r.All();
    EXPECT_EQ(r.All().find(wrong.substr(0, 12)), std::string::npos) << r.All();
    EXPECT_NE(r.err.find("SignatureDoesNotMatch"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(endpoint), std::string::npos) << "should name the endpoint: " << r.err;
  }
  // The seed's S3_REGION signs before AWS_REGION: the refused request's string to sign (what
  // LAKEPACK_S3_DEBUG shows of a 403) is scoped to it.
  auto env_region = env;
  env_region["S3_REGION"] = "eu-west-3";
  auto scoped = Lakepack({"inspect", "s3://" + bucket + "/wrong.parquet"}, env_region);
  EXPECT_EQ(scoped.exit_code, 1) << scoped.All();
  EXPECT_NE(scoped.err.find("/eu-west-3/s3/aws4_request"), std::string::npos) << scoped.err;
  EXPECT_EQ(scoped.err.find("/us-east-1/s3/aws4_request"), std::string::npos) << scoped.err;
  // And the right secret works against the same server.
  env["AWS_SECRET_ACCESS_KEY"] = Env("LAKEPACK_TEST_S3_AUTH_SECRET_ACCESS_KEY");
  auto ok = Lakepack({"convert", dir_ / "in.csv", "s3://" + bucket + "/right.parquet"}, env);
  EXPECT_EQ(ok.exit_code, 0) << ok.All();
}

}  // namespace
}  // namespace lakepack::e2e
