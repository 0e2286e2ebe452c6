// not_before timestamps: RFC 3339 in UTC only.
#include <gtest/gtest.h>

#include "worker/rfc3339.hpp"

namespace iamq::worker {
namespace {

TEST(Rfc3339, ParsesUtcWithAndWithoutFraction) {
  EXPECT_EQ(parse_rfc3339_utc("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339_utc("2026-12-01T09:00:00Z"), 1796115600000LL);
  EXPECT_EQ(parse_rfc3339_utc("2026-12-01T09:00:00.250Z"), 1796115600250LL);
  EXPECT_EQ(parse_rfc3339_utc("2026-12-01T09:00:00+00:00"), 1796115600000LL);
  EXPECT_EQ(parse_rfc3339_utc("2024-02-29T00:00:00Z").has_value(), true);  // leap day
}

TEST(Rfc3339, RefusesOffsetsAndMalformedTimes) {
  for (const char* bad : {"", "2026-12-01", "2026-12-01T09:00:00", "2026-12-01T09:00:00+02:00",
                          "2026-12-01 09:00:00Z", "2026-13-01T09:00:00Z", "2026-02-30T09:00:00Z",
                          "2023-02-29T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T09:00:00.Z",
                          "2026-12-01T09:00:00ZZ", "tomorrow", "1969-12-31T23:59:59Z"}) {
    EXPECT_FALSE(parse_rfc3339_utc(bad).has_value()) << bad;
  }
}

TEST(Rfc3339, FormatRoundTrips) {
  EXPECT_EQ(format_rfc3339_utc(1796115600000LL), "2026-12-01T09:00:00Z");
  EXPECT_EQ(format_rfc3339_utc(1796115600250LL), "2026-12-01T09:00:00.250Z");
  EXPECT_EQ(parse_rfc3339_utc(format_rfc3339_utc(1234567890123LL)), 1234567890123LL);
}

}  // namespace
}  // namespace iamq::worker
