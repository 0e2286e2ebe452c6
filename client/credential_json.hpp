#pragma once
/// The JSON documents credential sources answer with (sans-io, nlohmann::json), validated
/// field by field: credential_process output (Version 1), ECS container credentials and
/// EC2 instance metadata (IMDS) role credentials. Errors name the field, never a value.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "client/credentials_provider.hpp"

namespace iamq::client {

/// Largest document accepted from any of these sources.
inline constexpr std::size_t kMaxCredentialDocumentBytes = 64 * 1024;

/// Either credentials or the reason (naming the source and the field).
using ParsedCredentials = std::variant<TimedCredentials, std::string>;

/// credential_process stdout: {"Version":1,"AccessKeyId","SecretAccessKey"[,"SessionToken"][,"Expiration"]}.
ParsedCredentials parse_process_credentials(std::string_view text);
/// ECS (and EKS Pod Identity) answer: {"AccessKeyId","SecretAccessKey","Token","Expiration"}.
ParsedCredentials parse_container_credentials(std::string_view text);
/// IMDS role document: {"Code":"Success","AccessKeyId","SecretAccessKey","Token","Expiration"}.
ParsedCredentials parse_imds_credentials(std::string_view text);

/// "2024-01-02T03:04:05Z", with optional fractional seconds and a Z or ±HH:MM offset.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace iamq::client
