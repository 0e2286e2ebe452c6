#include "queue/cluster_slots.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace iamq::queue::cluster {

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char byte : data) {
    crc = static_cast<std::uint16_t>(crc ^ (static_cast<std::uint16_t>(byte) << 8));
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) != 0 ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021)
                                : static_cast<std::uint16_t>(crc << 1);
    }
  }
  return crc;
}

std::string_view hash_tag(std::string_view key) {
  auto open = key.find('{');
  if (open == std::string_view::npos) return key;
  auto close = key.find('}', open + 1);
  if (close == std::string_view::npos || close == open + 1) return key;
  return key.substr(open + 1, close - open - 1);
}

int key_slot(std::string_view key) {
  return crc16(hash_tag(key)) % kSlots;
}

bool namespace_has_hash_tag(std::string_view ns) {
  if (ns.size() < 3 || ns.front() != '{') return false;
  auto close = ns.find('}');
  return close != std::string_view::npos && close > 1;
}

namespace {

bool parse_port(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out > 0 && out < 65536;
}

bool parse_slot(std::string_view s, int& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && out >= 0 && out < kSlots;
}

/// [host, port, id, …] of CLUSTER SLOTS.
std::optional<RedisNode> node_of(const Reply& r, std::string_view seed_host) {
  if (!r.is_array() || r.elements.size() < 2) return std::nullopt;
  auto host = r.elements[0].as_string();
  auto port = r.elements[1].as_integer();
  if (!host || !port || *port <= 0 || *port >= 65536 || host->size() > 255) return std::nullopt;
  RedisNode n;
  n.host = host->empty() || *host == "?" ? std::string(seed_host) : *host;
  n.port = static_cast<int>(*port);
  return n;
}

}  // namespace

std::optional<Redirect> parse_redirect(std::string_view error, std::string_view current_host) {
  Redirect r;
  if (error.rfind("MOVED ", 0) == 0) {
    r.kind = Redirect::Kind::moved;
    error.remove_prefix(6);
  } else if (error.rfind("ASK ", 0) == 0) {
    r.kind = Redirect::Kind::ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  auto sp = error.find(' ');
  if (sp == std::string_view::npos || !parse_slot(error.substr(0, sp), r.slot)) return std::nullopt;
  std::string_view where = error.substr(sp + 1);
  auto colon = where.rfind(':');
  if (colon == std::string_view::npos || where.size() > 300) return std::nullopt;
  // The port may carry a cluster bus suffix in some versions ("6380@16380").
  std::string_view port = where.substr(colon + 1);
  if (auto at = port.find('@'); at != std::string_view::npos) port = port.substr(0, at);
  if (!parse_port(port, r.node.port)) return std::nullopt;
  std::string_view host = where.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.find(' ') != std::string_view::npos) return std::nullopt;
  r.node.host = host.empty() ? std::string(current_host) : std::string(host);
  return r;
}

bool is_tryagain(std::string_view error) {
  return error.rfind("TRYAGAIN", 0) == 0;
}

std::optional<RedisNode> SlotMap::owner(int slot) const {
  for (const auto& r : ranges) {
    if (slot >= r.first && slot <= r.last) return r.master;
  }
  return std::nullopt;
}

SlotMap parse_cluster_slots(const Reply& reply, std::string_view seed_host) {
  SlotMap map;
  if (!reply.is_array()) {
    map.error = "CLUSTER SLOTS answered " + to_debug_string(reply);
    return map;
  }
  if (reply.elements.size() > static_cast<std::size_t>(kSlots)) {
    map.error = "CLUSTER SLOTS: more ranges than slots";
    return map;
  }
  for (const auto& e : reply.elements) {
    if (!e.is_array() || e.elements.size() < 3) {
      map.error = "CLUSTER SLOTS: a range is not [first, last, master, …]";
      map.ranges.clear();
      return map;
    }
    auto first = e.elements[0].as_integer();
    auto last = e.elements[1].as_integer();
    auto master = node_of(e.elements[2], seed_host);
    if (!first || !last || *first < 0 || *last >= kSlots || *first > *last || !master) {
      map.error = "CLUSTER SLOTS: a range has bad slots or a bad master";
      map.ranges.clear();
      return map;
    }
    map.ranges.push_back({static_cast<int>(*first), static_cast<int>(*last), *master});
  }
  return map;
}

bool cluster_disabled(const Reply& reply) {
  return reply.is_error() && reply.str.find("cluster support disabled") != std::string::npos;
}

bool same_node(const RedisNode& a, const RedisNode& b) {
  if (a.port != b.port || a.host.size() != b.host.size()) return false;
  return std::equal(a.host.begin(), a.host.end(), b.host.begin(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  });
}

Decision decide(RedisEndpoint::Cluster mode, std::string_view key, const RedisNode& current,
                const Reply& reply) {
  Decision d;
  if (reply.is_error()) {
    if (mode == RedisEndpoint::Cluster::autodetect) {
      // Not a cluster node ("cluster support disabled"), or CLUSTER refused (an ACL, a proxy):
      // a single server, as before.
      d.kind = Decision::Kind::standalone;
      return d;
    }
    d.why = cluster_disabled(reply)
                ? "redis_cluster = true, but " + current.to_string() + " is not a cluster node (" +
                      reply.str + ")"
                : "CLUSTER SLOTS failed on " + current.to_string() + ": " + reply.str;
    d.fatal = cluster_disabled(reply);
    return d;
  }
  if (!namespace_has_hash_tag(key)) {
    std::string ns(key);
    if (auto colon = ns.rfind(':'); colon != std::string::npos) ns.resize(colon);
    d.why = "namespace: \"" + ns +
            "\" must be a hash tag such as {" + ns +
            "} on Redis Cluster (every key of the queue must be in one slot, so that each of its "
            "Lua scripts runs on one node)";
    d.fatal = true;
    return d;
  }
  SlotMap map = parse_cluster_slots(reply, current.host);
  if (!map.error.empty()) {
    d.why = map.error;
    return d;
  }
  int slot = key_slot(key);
  auto owner = map.owner(slot);
  if (!owner) {
    d.why = "no master serves slot " + std::to_string(slot) + " (the cluster is not complete)";
    return d;
  }
  d.node = *owner;
  d.kind = same_node(*owner, current) ? Decision::Kind::ready : Decision::Kind::hop;
  return d;
}

}  // namespace iamq::queue::cluster
