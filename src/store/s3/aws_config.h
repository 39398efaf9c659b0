// Reading the AWS CLI's shared files (~/.aws/credentials and ~/.aws/config) the way the CLI
// does, for profiles, keys, region, endpoint and CA bundle. Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace lakepack::s3 {

//! One profile's settings, keys lower-cased. A nested section ("s3 =" followed by indented
//! "addressing_style = path") is flattened to "s3.addressing_style".
using ProfileSettings = std::map<std::string, std::string>;

//! Parses one shared file into profile name → settings. In the config file
//! (`config_file`), sections are "[default]" or "[profile NAME]", and others ("[sso-session
//! x]", "[services x]") are skipped; in the credentials file every "[NAME]" is a profile.
std::map<std::string, ProfileSettings> ParseAwsSharedFile(std::string_view text, bool config_file);

}  // namespace lakepack::s3
