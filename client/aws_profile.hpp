#pragma once
/// The shared config and credentials files (sans-io): INI parsing as botocore reads them,
/// and the resolution of one profile into a plan: where the first credentials come from,
/// then the roles to assume in order (role_arn + source_profile, chained).
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "client/credentials.hpp"

namespace iamq::client {

/// section name → key (lower case) → value. Config-file sections "[profile x]" are named
/// "x"; "[default]" is "default". Other config sections ("[sso-session x]", "[services x]")
/// are kept under their full name.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;

/// Parses INI text: "[name]" sections, "key = value" lines, '#'/';' comments. Indented
/// lines (sub-sections such as "s3 =\n  max_concurrent_requests = 2") are skipped. A section
/// that appears twice is merged, later values winning.
IniSections parse_ini(std::string_view text, bool config_file);

/// One AssumeRole to perform.
struct RoleStep {
  std::string profile;  ///< the profile that asked for it (for messages)
  std::string role_arn;
  std::string external_id;
  std::string role_session_name;
  int duration_seconds = 3600;
};

/// Where the first credentials of a profile's chain come from.
struct ProfileBase {
  enum class Kind {
    static_keys,         ///< aws_access_key_id / aws_secret_access_key [/ aws_session_token]
    credential_process,  ///< `process`
    web_identity,        ///< web_identity_token_file + role_arn (`role`)
    environment,         ///< credential_source = Environment
    ec2_metadata,        ///< credential_source = Ec2InstanceMetadata
    ecs_container,       ///< credential_source = EcsContainer
  };
  Kind kind = Kind::static_keys;
  std::string profile;  ///< the profile it was read from
  Credentials keys;
  std::string process;
  std::string token_file;
  RoleStep role;  ///< for web_identity
};

/// A resolved profile: the base, then each role assumed with the previous credentials.
struct ProfilePlan {
  ProfileBase base;
  std::vector<RoleStep> roles;
};

/// Why a profile cannot be used; `not_found` when the profile exists in neither file.
struct ProfileError {
  std::string message;
  bool not_found = false;
};

/// Resolves `profile`: the credentials file's keys win over the config file's for the same
/// profile. Refused: mfa_serial (the worker cannot prompt), role_arn with neither or both of
/// source_profile and credential_source, an unknown credential_source, a source_profile
/// cycle, duration_seconds outside 900-43200, a partial key pair, a profile with nothing.
std::variant<ProfilePlan, ProfileError> resolve_profile(const IniSections& config,
                                                        const IniSections& credentials,
                                                        const std::string& profile);

}  // namespace iamq::client
