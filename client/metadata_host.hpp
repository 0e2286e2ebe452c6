#pragma once
/// Which hosts ECS and IMDS credentials may be fetched from over plain http.
#include <string_view>

namespace iamq::client {

/// Loopback, or the ECS/EKS/IMDS link-local addresses: 169.254.170.2, 169.254.170.23,
/// fd00:ec2::23, 169.254.169.254, fd00:ec2::254 (IPv6 with or without brackets).
bool metadata_http_host_allowed(std::string_view host);

}  // namespace iamq::client
