#pragma once
/// RFC 3339 timestamps in UTC (a job's `not_before`): `2026-12-01T09:00:00Z`, optionally with
/// fractional seconds and `+00:00` instead of `Z`. Other offsets are refused: HR systems send
/// UTC, and an offset silently misread would run an offboarding hours early.
#include <optional>
#include <string>
#include <string_view>

namespace iamq::worker {

/// Milliseconds since the epoch, or nullopt when `text` is not an RFC 3339 UTC timestamp.
std::optional<long long> parse_rfc3339_utc(std::string_view text);
/// The RFC 3339 form (`…T…Z`, milliseconds when not whole seconds).
std::string format_rfc3339_utc(long long ms);

}  // namespace iamq::worker
