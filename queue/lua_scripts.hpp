#pragma once
/// The queue's Lua scripts (queue/lua/*.lua), compiled in at build time.
#include <string_view>

namespace iamq::queue::lua {

/// The source of queue/lua/<name>.lua; empty if there is no such script.
std::string_view source(std::string_view name);

}  // namespace iamq::queue::lua
