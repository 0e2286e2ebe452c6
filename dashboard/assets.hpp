#pragma once
/// The dashboard's static files (dashboard/assets/), compiled in at build time.
#include <string_view>

namespace iamq::dashboard {

/// The bytes of dashboard/assets/<path> ("app.js", "vendor/uPlot.iife.min.js"); empty if none.
std::string_view asset(std::string_view path);

}  // namespace iamq::dashboard
