// S3Options::FromLookup: the credential chain, aliases, profiles, endpoints and the secret
// redaction of ToString().
#include "store/s3/s3_options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "store/s3/aws_config.h"

namespace lakepack::s3 {
namespace {

class S3OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/lakepack-s3opt-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    home_ = pattern;
    // A HOME with no ~/.aws, so the machine's own files never leak into a test.
    env_["HOME"] = home_;
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  Result<S3Options> Load() {
    return S3Options::FromLookup([this](std::string_view name) -> std::optional<std::string> {
      auto it = env_.find(std::string(name));
      if (it == env_.end()) return std::nullopt;
      return it->second;
    });
  }

  void WriteFile(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(home_ + "/" + rel).parent_path());
    std::ofstream(home_ + "/" + rel) << text;
  }

  std::string home_;
  std::map<std::string, std::string> env_;
};

TEST_F(S3OptionsTest, DefaultsWithoutAnything) {
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "");
  EXPECT_EQ(o->region, "us-east-1");
  EXPECT_TRUE(o->credentials.anonymous());
  EXPECT_EQ(o->concurrency, kDefaultConcurrency);
  EXPECT_EQ(o->multipart_threshold, 64 << 20);
  EXPECT_EQ(o->part_size, 16 << 20);
  EXPECT_EQ(o->max_retries, 6);
  EXPECT_FALSE(o->UsePathStyle("my-bucket"));  // AWS: virtual-hosted
  EXPECT_TRUE(o->UsePathStyle("dotted.bucket"));
}

// The seed's S3_REGION comes before AWS_REGION; S3_USE_SSL picks the scheme of an endpoint
// given without one (and of AWS), and contradicting an endpoint's own scheme is an error.
TEST_F(S3OptionsTest, SeedRegionAndUseSsl) {
  env_["AWS_REGION"] = "eu-west-1";
  env_["S3_REGION"] = "ap-south-1";
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->region, "ap-south-1");
  EXPECT_EQ(o->AwsEndpoint(), "https://s3.ap-south-1.amazonaws.com");
  env_["S3_USE_SSL"] = "0";
  o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->AwsEndpoint(), "http://s3.ap-south-1.amazonaws.com");
  env_["AWS_ENDPOINT_URL"] = "minio.internal:9000";
  o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "http://minio.internal:9000");
  env_["S3_USE_SSL"] = "true";
  env_["AWS_ENDPOINT_URL"] = "127.0.0.1:9000";  // loopback is http by default, not here
  o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "https://127.0.0.1:9000");
  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9000";
  o = Load();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "S3_USE_SSL=true, but AWS_ENDPOINT_URL='http://127.0.0.1:9000' says otherwise");
  env_["S3_USE_SSL"] = "maybe";
  o = Load();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(), "S3_USE_SSL='maybe': expected 1/0, true/false, yes/no or on/off");
  env_.erase("S3_USE_SSL");
  o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:9000");
}

TEST_F(S3OptionsTest, EnvironmentCredentialsAndAliases) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  env_["AWS_SESSION_TOKEN"] = "envtoken";
  env_["MINIO_ACCESS_KEY"] = "minio";
  env_["MINIO_SECRET_KEY"] = "miniosecret";
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->credentials.access_key_id, "AKIAENV");
  EXPECT_EQ(o->credentials.secret_access_key, "envsecret");
  EXPECT_EQ(o->credentials.session_token, "envtoken");

  env_.erase("AWS_ACCESS_KEY_ID");
  env_.erase("AWS_SECRET_ACCESS_KEY");
  env_["AWS_ACCESS_KEY"] = "seedkey";
  env_["AWS_SECRET_KEY"] = "seedsecret";
  o = Load();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->credentials.access_key_id, "seedkey");
  EXPECT_EQ(o->credentials.secret_access_key, "seedsecret");
  EXPECT_EQ(o->credentials_source, "environment (AWS_ACCESS_KEY)");

  env_.erase("AWS_ACCESS_KEY");
  env_.erase("AWS_SECRET_KEY");
  o = Load();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->credentials.access_key_id, "minio");
  EXPECT_EQ(o->credentials.secret_access_key, "miniosecret");
}

TEST_F(S3OptionsTest, HalfAPairIsAnError) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAONLY";
  auto o = Load();
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(o.status().message().find("AWS_ACCESS_KEY_ID is set but no secret"), std::string::npos);
}

TEST_F(S3OptionsTest, MinioServerWithoutScheme) {
  env_["MINIO_SERVER"] = "127.0.0.1:9000";
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:9000");
  EXPECT_TRUE(o->UsePathStyle("bucket"));
  env_["MINIO_SERVER"] = "minio.example.com:9000";
  o = Load();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->endpoint, "https://minio.example.com:9000");
  env_["MINIO_SERVER"] = "localhost:9000/";
  EXPECT_EQ(Load()->endpoint, "http://localhost:9000");
  // AWS_ENDPOINT_URL wins over the seeds' MINIO_SERVER.
  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000";
  EXPECT_EQ(Load()->endpoint, "http://127.0.0.1:5000");
  env_["AWS_ENDPOINT_URL_S3"] = "http://127.0.0.1:6000";
  EXPECT_EQ(Load()->endpoint, "http://127.0.0.1:6000");
  env_["AWS_ENDPOINT_URL_S3"] = "ftp://x";
  EXPECT_EQ(Load().status().code(), StatusCode::kInvalidArgument);
}

TEST_F(S3OptionsTest, AddressingOverride) {
  env_["AWS_ENDPOINT_URL"] = "http://minio.local:9000";
  env_["LAKEPACK_S3_ADDRESSING"] = "virtual";
  auto o = Load();
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->UsePathStyle("bucket"));
  env_["LAKEPACK_S3_ADDRESSING"] = "path";
  EXPECT_TRUE(Load()->UsePathStyle("bucket"));
  env_["LAKEPACK_S3_ADDRESSING"] = "sideways";
  EXPECT_EQ(Load().status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(IsIpHost("127.0.0.1:9000"));
  EXPECT_TRUE(IsIpHost("[::1]:9000"));
  EXPECT_FALSE(IsIpHost("s3.amazonaws.com"));
}

TEST_F(S3OptionsTest, RegionPrecedence) {
  WriteFile(".aws/config", "[default]\nregion = eu-central-1\n");
  EXPECT_EQ(Load()->region, "eu-central-1");
  env_["AWS_DEFAULT_REGION"] = "eu-west-2";
  EXPECT_EQ(Load()->region, "eu-west-2");
  env_["AWS_REGION"] = "ap-south-1";
  EXPECT_EQ(Load()->region, "ap-south-1");
}

TEST_F(S3OptionsTest, ProfilesFromSharedFiles) {
  WriteFile(".aws/credentials",
            "# comment\n[default]\naws_access_key_id = AKIADEFAULT\n"
            "aws_secret_access_key = defaultsecret\n\n[dev]\naws_access_key_id=AKIADEV\n"
            "aws_secret_access_key=devsecret\naws_session_token=devtoken\n");
  WriteFile(".aws/config",
            "[profile dev]\nregion = eu-north-1\ns3 =\n  addressing_style = path\n"
            "  endpoint_url = http://127.0.0.1:7000\n[profile cfgonly]\n"
            "aws_access_key_id = AKIACFG\naws_secret_access_key = cfgsecret\n"
            "[profile role]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = default\n");
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->credentials.access_key_id, "AKIADEFAULT");
  EXPECT_EQ(o->credentials_source, "profile 'default' in " + home_ + "/.aws/credentials");

  env_["AWS_PROFILE"] = "dev";
  o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->credentials.access_key_id, "AKIADEV");
  EXPECT_EQ(o->credentials.session_token, "devtoken");
  EXPECT_EQ(o->region, "eu-north-1");
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:7000");
  EXPECT_EQ(o->addressing, Addressing::kPath);

  env_["AWS_PROFILE"] = "cfgonly";
  o = Load();
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->credentials.access_key_id, "AKIACFG");

  env_["AWS_PROFILE"] = "role";
  o = Load();
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("role_arn"), std::string::npos);

  env_["AWS_PROFILE"] = "missing";
  o = Load();
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("no profile [missing]"), std::string::npos);

  // Environment keys beat the profile's.
  env_["AWS_PROFILE"] = "dev";
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "envsecret";
  EXPECT_EQ(Load()->credentials.access_key_id, "AKIAENV");
}

TEST_F(S3OptionsTest, SharedFileLocationsFromEnvironment) {
  WriteFile("elsewhere/creds", "[default]\naws_access_key_id=AKIAELSE\naws_secret_access_key=s\n");
  WriteFile("elsewhere/conf", "[default]\nregion=sa-east-1\nca_bundle=~/ca.pem\n");
  env_["AWS_SHARED_CREDENTIALS_FILE"] = home_ + "/elsewhere/creds";
  env_["AWS_CONFIG_FILE"] = "~/elsewhere/conf";
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->credentials.access_key_id, "AKIAELSE");
  EXPECT_EQ(o->region, "sa-east-1");
  EXPECT_EQ(o->ca_bundle, home_ + "/ca.pem");
  env_["AWS_CA_BUNDLE"] = "/etc/ssl/x.pem";
  EXPECT_EQ(Load()->ca_bundle, "/etc/ssl/x.pem");
}

TEST_F(S3OptionsTest, TuningVariables) {
  env_["LAKEPACK_S3_CONCURRENCY"] = "4";
  env_["LAKEPACK_S3_MULTIPART_THRESHOLD"] = "8MiB";
  env_["LAKEPACK_S3_PART_SIZE"] = "5M";
  env_["LAKEPACK_S3_MAX_RETRIES"] = "2";
  env_["LAKEPACK_S3_RETRY_BASE_MS"] = "10";
  env_["LAKEPACK_S3_RETRY_MAX_TIME_S"] = "30";
  env_["LAKEPACK_S3_SIGN_PAYLOAD"] = "true";
  auto o = Load();
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->concurrency, 4);
  EXPECT_EQ(o->multipart_threshold, 8 << 20);
  EXPECT_EQ(o->part_size, 5 << 20);
  EXPECT_EQ(o->max_retries, 2);
  EXPECT_EQ(o->retry_base_ms, 10);
  EXPECT_EQ(o->retry_max_time_s, 30);
  EXPECT_TRUE(o->sign_payload);

  env_["LAKEPACK_S3_PART_SIZE"] = "1M";  // below S3's 5 MiB minimum
  auto small = Load();
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("5 MiB"), std::string::npos);
  env_["LAKEPACK_S3_PART_SIZE"] = "lots";
  EXPECT_NE(Load().status().message().find("LAKEPACK_S3_PART_SIZE='lots'"), std::string::npos);
  env_.erase("LAKEPACK_S3_PART_SIZE");
  env_["LAKEPACK_S3_CONCURRENCY"] = "0";
  EXPECT_EQ(Load().status().code(), StatusCode::kInvalidArgument);
  env_["LAKEPACK_S3_CONCURRENCY"] = "8";
  env_.erase("LAKEPACK_S3_MAX_RETRIES");
  env_["AWS_MAX_ATTEMPTS"] = "3";
  EXPECT_EQ(Load()->max_retries, 2);
}

TEST_F(S3OptionsTest, PartSizeGrowsToStayWithinTenThousandParts) {
  S3Options o;
  EXPECT_EQ(o.PartSizeFor(100 << 20), 16 << 20);
  const int64_t huge = int64_t{1} << 40;  // 1 TiB: 16 MiB parts would be 65536 of them
  int64_t part = o.PartSizeFor(huge);
  EXPECT_LE((huge + part - 1) / part, kMaxPartsPerUpload);
  EXPECT_EQ(part % (1 << 20), 0);
  EXPECT_LE(o.PartSizeFor(kMaxObjectSize) * kMaxPartsPerUpload,
            kMaxObjectSize + (int64_t{1} << 20) * kMaxPartsPerUpload);
  EXPECT_GE(o.PartSizeFor(kMaxObjectSize) * kMaxPartsPerUpload, kMaxObjectSize);
}

TEST_F(S3OptionsTest, ToStringNeverShowsSecrets) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAIOSFODNN7EXAMPLE";
  env_["AWS_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  env_["AWS_SESSION_TOKEN"] = "SESSIONTOKENVALUE";
  auto o = Load();
  ASSERT_TRUE(o.ok());
  std::string text = o->ToString();
  EXPECT_EQ(text.find("wJalrXUtnFEMI"), std::string::npos) << text;
  EXPECT_EQ(text.find("SESSIONTOKENVALUE"), std::string::npos) << text;
  EXPECT_EQ(text.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << text;
  EXPECT_NE(text.find("****************MPLE"), std::string::npos) << text;
  EXPECT_NE(text.find("secret_access_key: <redacted>"), std::string::npos) << text;
}

TEST(AwsConfigTest, ParsesSectionsCommentsAndNesting) {
  auto profiles = ParseAwsSharedFile(
      "[default]\r\nregion=us-west-2\r\n; comment\n[profile a]\nKey = v = w\n"
      "s3 =\n    addressing_style = virtual\nafter = 1\n[sso-session x]\nregion=zz\n",
      /*config_file=*/true);
  ASSERT_EQ(profiles.size(), 2u);
  EXPECT_EQ(profiles["default"]["region"], "us-west-2");
  EXPECT_EQ(profiles["a"]["key"], "v = w");
  EXPECT_EQ(profiles["a"]["s3.addressing_style"], "virtual");
  EXPECT_EQ(profiles["a"]["after"], "1");
  auto creds = ParseAwsSharedFile("[profile x]\na=b\n", /*config_file=*/false);
  EXPECT_EQ(creds["profile x"]["a"], "b");
}

}  // namespace
}  // namespace lakepack::s3
