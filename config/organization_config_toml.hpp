#pragma once
/// The TOML side of [organization] (config.cpp and organization_config.cpp only).
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "config/organization_config.hpp"

namespace iamq::config {

/// Reads the `organization` table into `out` (enabled = true); "field: rule" lines.
std::vector<std::string> read_organization(const toml::node& n, const std::string& field, Organization& out);
/// The section as TOML (it holds no secret).
toml::table organization_table(const Organization& org);

}  // namespace iamq::config
