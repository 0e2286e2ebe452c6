#pragma once
/// REDIS_URL parsing. Forms:
///   redis://[[user]:password@]host[:port][/db]            plain TCP
///   rediss://[[user]:password@]host[:port][/db]           TLS (verification always on)
///   redis-sentinel://[[user]:password@]h1:p1,h2:p2,h3:p3[/db]#MASTER   Sentinel (Lettuce's form)
///   redis[s]://[[user]:password@]h1:p1,h2:p2,h3:p3       Redis Cluster seeds (any one is enough)
/// The userinfo is for the data nodes (the master, or every cluster node); Sentinel's own
/// credentials come from RedisSettings (config `redis_sentinel_username`/`_password`).
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace iamq::queue {

/// One host:port.
struct RedisNode {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string to_string() const;  ///< "host:port" ("[::1]:port" for IPv6)
};

/// TLS settings (rediss://). The peer is always verified: against `ca_file`, or the system
/// store when it is empty; its name against `server_name`, or the host when that is empty.
struct RedisTls {
  bool enabled = false;
  std::string ca_file;      ///< PEM bundle of trusted CAs; empty: the system's
  std::string cert_file;    ///< client certificate (PEM), optional; needs key_file
  std::string key_file;     ///< its private key (PEM)
  std::string server_name;  ///< name (or IP) the certificate must carry; empty: the host
};

/// Settings that are not part of the URL (from the config file / environment).
struct RedisSettings {
  RedisTls tls;               ///< `enabled` is taken from the URL scheme
  std::string sentinel_user;  ///< AUTH for the sentinels (empty: password only)
  std::string sentinel_password;  ///< empty: the sentinels are not authenticated
  /// config `redis_cluster`: 0 false, 1 true, 2 auto (detect with CLUSTER SLOTS on connect).
  int cluster = 2;
  /// A key of the queue (`<ns>:jobs`): in a cluster the connection goes to its slot's master.
  std::string cluster_key;
};

/// Where and how to connect. The password is never printed (see redacted()).
struct RedisEndpoint {
  enum class Kind { standalone, sentinel };
  /// Redis Cluster: off (one server), on (a cluster is required), autodetect (CLUSTER SLOTS on
  /// connect: a cluster node is used as one, anything else as a single server).
  enum class Cluster { off, on, autodetect };
  std::string host = "127.0.0.1";  ///< the data node (for Sentinel: found by discovery)
  int port = 6379;
  std::string user;      ///< ACL user; empty: AUTH with the password only
  std::string password;  ///< empty: no AUTH
  int db = 0;            ///< SELECT db when not 0
  RedisTls tls;
  Kind kind = Kind::standalone;
  std::vector<RedisNode> nodes;  ///< every host of the URL (sentinels, or cluster seeds)
  std::string master_name;       ///< Sentinel: the monitored master's name (after '#')
  std::string sentinel_user;
  std::string sentinel_password;
  Cluster cluster = Cluster::autodetect;  ///< standalone kind only; sentinel: always off
  /// In a cluster, the connection follows the master of this key's slot (`<ns>:jobs`; every
  /// key of the queue shares that slot through the namespace's hash tag; a key without one is
  /// refused on a cluster).
  std::string cluster_key;

  /// `redis://user:***@host:port/db` — safe for logs and error messages.
  std::string redacted() const;
  /// The same endpoint aimed at one data node (host/port replaced).
  RedisEndpoint at(const RedisNode& n) const;
};

/// Parses a Redis URL; on failure returns a message naming what is wrong (never the password).
/// Percent-escapes in user and password are decoded.
std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url);
/// Parses the URL and applies the settings that live outside it (TLS files, Sentinel AUTH);
/// refuses TLS files without rediss:// and a client certificate without its key.
std::variant<RedisEndpoint, std::string> parse_redis_url(std::string_view url,
                                                         const RedisSettings& settings);

}  // namespace iamq::queue
