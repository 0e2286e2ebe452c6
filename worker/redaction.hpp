#pragma once
/// The one redaction function for everything iamq stores or prints (sans-io): step records,
/// descriptions, would_call lists, checkpoints, results, records, dead letters, events, logs
/// and error messages all go through redact() / redact_text() before they leave the process.
///
/// A secret is recognised by the name it is given (the only thing a stored job, an IAM
/// parameter list or a log line says about a value): a name containing "password", "secret",
/// "token", "privatekey", "sshpublickeybody", "certificatebody" or "authenticationcode" (any
/// case: Password, NewPassword, SecretAccessKey, SessionToken, PrivateKey, secret_access_key…).
/// Its value becomes "<redacted>".
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace iamq::worker {

/// What replaces a secret value.
inline constexpr std::string_view kRedacted = "<redacted>";

/// True for a parameter or field name that carries a secret (see above). Not "credential":
/// ServiceSpecificCredentialId is an identifier the audit needs.
bool is_secret_name(std::string_view name);

/// A copy of `j` with the value of every secret-named object key, every ["SecretName",
/// "value"] pair (the checkpoints' parameter lists) and, with `in_strings`, every secret
/// inside a string (see redact_text) replaced. Nesting deeper than 64 levels is replaced
/// whole. Never throws for valid JSON values. Checkpoints are redacted by names only
/// (`in_strings` false): their values are what a resumed job sends again, and a user may be
/// called "Password=x" (IAM allows '=' in names).
nlohmann::json redact(const nlohmann::json& j, bool in_strings = true);

/// True when redact(j, false) would change `j` (a secret-named key or pair, or nesting too
/// deep), found without copying anything. `depth`: where `j` sits (0 at the top).
bool has_secret_names(const nlohmann::json& j, int depth = 0);

/// redact(j, false).dump(), without the copy when there is nothing to redact.
std::string dump_redacted_by_name(const nlohmann::json& j);

/// `text` with the value after every secret name replaced, in the shapes such text takes:
/// `Name=value` (Query strings, descriptions, log key=value pairs), `"Name":"value"` and
/// `"Name":123` (JSON that did not parse), `<Name>value` (XML), `Name: value` (messages).
/// A value ends at a blank, `&`, `,`, `;`, a quote, `<`, `>`, `)`, `}` or `]` (a quoted JSON
/// string at its closing quote).
std::string redact_text(std::string_view text);

/// A job text as received (valid JSON or not), made safe to store: JSON is parsed and
/// redact()-ed (duplicate keys and all), anything else goes through redact_text(). At most
/// `max_bytes` of the text are kept ("… (N bytes in all)" appended when cut), so an oversized
/// entry is never stored whole.
std::string redact_job_text(std::string_view text, std::size_t max_bytes);

}  // namespace iamq::worker
