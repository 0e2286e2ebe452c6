#pragma once
/// Redis Cluster without I/O: the key → slot function (CRC16/XMODEM of the key or of its
/// `{hash tag}`, mod 16384), the namespace rule, `MOVED`/`ASK` error replies, the slot map
/// from a `CLUSTER SLOTS` reply, and what the connection does with it after connecting to a
/// node. The connection (queue/redis_connection) carries out what these decide.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "queue/redis_url.hpp"
#include "queue/reply.hpp"

namespace iamq::queue::cluster {

constexpr int kSlots = 16384;

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial 0), Redis Cluster's key hash.
std::uint16_t crc16(std::string_view data);
/// The part of `key` that is hashed: the text between the first `{` and the next `}` when that
/// is not empty, else the whole key (Redis's hash-tag rule).
std::string_view hash_tag(std::string_view key);
/// The slot of `key`: crc16(hash_tag(key)) % 16384.
int key_slot(std::string_view key);
/// True when `ns` starts with a non-empty hash tag (`{iamq}`, `{iamq}prod`): every key
/// `<ns>:…` then lands in the slot of that tag.
bool namespace_has_hash_tag(std::string_view ns);

/// A redirection error reply: `MOVED <slot> <host>:<port>` or `ASK <slot> <host>:<port>`.
struct Redirect {
  enum class Kind { moved, ask };
  Kind kind = Kind::moved;
  int slot = 0;
  RedisNode node;
};
/// Parses the text of an error reply; nullopt when it is not a well-formed redirection. An
/// empty host (`MOVED 3999 :6380`, a node that does not know its address) is `current_host`.
std::optional<Redirect> parse_redirect(std::string_view error, std::string_view current_host);
/// True for `TRYAGAIN …` (a multi-key command during a resharding, or the queue's scripts
/// while the namespace's slot is being migrated): send it again shortly.
bool is_tryagain(std::string_view error);

/// One range of the slot map.
struct SlotRange {
  int first = 0;
  int last = 0;
  RedisNode master;
};
/// Parses a `CLUSTER SLOTS` reply: [[first, last, [host, port, id, …], [replica…]…], …].
/// An empty host or "?" is `seed_host` (the node that answered). Returns the ranges, or an
/// error text when the reply does not have that shape. At most 16384 ranges are accepted.
struct SlotMap {
  std::vector<SlotRange> ranges;
  std::string error;  ///< non-empty: the reply was not a slot map
  /// The master serving `slot`; nullopt when no range covers it (the cluster is incomplete).
  std::optional<RedisNode> owner(int slot) const;
};
SlotMap parse_cluster_slots(const Reply& reply, std::string_view seed_host);

/// True when `reply` is Redis's refusal of CLUSTER on a server that is not a cluster node
/// ("ERR This instance has cluster support disabled").
bool cluster_disabled(const Reply& reply);

/// What to do once connected to `current` and `CLUSTER SLOTS` answered `reply` (sans-io).
struct Decision {
  enum class Kind {
    standalone,  ///< not a cluster node (redis_cluster = auto): use it as one server
    ready,       ///< `current` serves the namespace's slot
    hop,         ///< another master serves it: connect there (`node`)
    error,       ///< cannot go on (`why`, no secrets); `fatal`: retrying cannot fix it
  };
  Kind kind = Kind::error;
  RedisNode node;
  std::string why;
  bool fatal = false;
};
/// `mode`: the endpoint's cluster setting; `key`: a key of the queue (`<ns>:jobs`).
Decision decide(RedisEndpoint::Cluster mode, std::string_view key, const RedisNode& current,
                const Reply& reply);

/// Host:port equality as the cluster reports them (hosts compared case-insensitively).
bool same_node(const RedisNode& a, const RedisNode& b);

}  // namespace iamq::queue::cluster
