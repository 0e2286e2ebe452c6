#pragma once
/// A Redis reply as a plain value (sans-io): decoded from hiredis's redisReply, tested directly.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

struct redisReply;

namespace iamq::queue {

/// One RESP2 reply: nil, status, error, integer, bulk string, or array of replies.
struct Reply {
  enum class Type { nil, status, error, integer, string, array };
  Type type = Type::nil;
  std::string str;             ///< status, error and string replies
  long long integer = 0;       ///< integer replies
  std::vector<Reply> elements;  ///< array replies

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_array() const { return type == Type::array; }
  bool is_string() const { return type == Type::string || type == Type::status; }
  /// The integer value of an integer reply or of a string holding a number; nullopt otherwise.
  std::optional<long long> as_integer() const;
  /// The text of a string/status reply; empty for nil; nullopt for other types.
  std::optional<std::string> as_string() const;
  /// A flat array of field/value pairs (HGETALL, stream entry fields) as a map.
  std::map<std::string, std::string> as_map() const;

  static Reply make_nil() { return {}; }
  static Reply make_string(std::string s);
  static Reply make_status(std::string s);
  static Reply make_error(std::string s);
  static Reply make_integer(long long v);
  static Reply make_array(std::vector<Reply> v);
};

/// Decodes hiredis's reply tree; a null pointer decodes to nil. Never throws on shape.
Reply decode_reply(const redisReply* r);

/// A readable one-line rendering (for logs and test failures); long strings are cut.
std::string to_debug_string(const Reply& r);

}  // namespace iamq::queue
