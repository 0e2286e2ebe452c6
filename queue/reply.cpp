#include "queue/reply.hpp"

#include <charconv>

#include <hiredis/hiredis.h>

namespace iamq::queue {

std::optional<long long> Reply::as_integer() const {
  if (type == Type::integer) return integer;
  if (type == Type::string || type == Type::status) {
    long long v = 0;
    auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
    if (ec == std::errc() && p == str.data() + str.size() && !str.empty()) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Reply::as_string() const {
  if (type == Type::string || type == Type::status) return str;
  if (type == Type::nil) return std::string();
  if (type == Type::integer) return std::to_string(integer);
  return std::nullopt;
}

std::map<std::string, std::string> Reply::as_map() const {
  std::map<std::string, std::string> m;
  if (type != Type::array) return m;
  for (std::size_t i = 0; i + 1 < elements.size(); i += 2) {
    auto k = elements[i].as_string();
    auto v = elements[i + 1].as_string();
    if (k && v) m[*k] = *v;
  }
  return m;
}

Reply Reply::make_string(std::string s) {
  Reply r;
  r.type = Type::string;
  r.str = std::move(s);
  return r;
}
Reply Reply::make_status(std::string s) {
  Reply r;
  r.type = Type::status;
  r.str = std::move(s);
  return r;
}
Reply Reply::make_error(std::string s) {
  Reply r;
  r.type = Type::error;
  r.str = std::move(s);
  return r;
}
Reply Reply::make_integer(long long v) {
  Reply r;
  r.type = Type::integer;
  r.integer = v;
  return r;
}
Reply Reply::make_array(std::vector<Reply> v) {
  Reply r;
  r.type = Type::array;
  r.elements = std::move(v);
  return r;
}

Reply decode_reply(const redisReply* r) {
  Reply out;
  if (r == nullptr) return out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(decode_reply(r->element[i]));
      break;
    case REDIS_REPLY_NIL:
    default:
      out.type = Reply::Type::nil;
      break;
  }
  return out;
}

std::string to_debug_string(const Reply& r) {
  auto cut = [](const std::string& s) { return s.size() > 200 ? s.substr(0, 200) + "…" : s; };
  switch (r.type) {
    case Reply::Type::nil: return "(nil)";
    case Reply::Type::status: return "+" + cut(r.str);
    case Reply::Type::error: return "-" + cut(r.str);
    case Reply::Type::integer: return ":" + std::to_string(r.integer);
    case Reply::Type::string: return "\"" + cut(r.str) + "\"";
    case Reply::Type::array: {
      std::string s = "[";
      for (std::size_t i = 0; i < r.elements.size(); ++i) {
        if (i) s += ", ";
        if (i == 20) {
          s += "… " + std::to_string(r.elements.size()) + " elements";
          break;
        }
        s += to_debug_string(r.elements[i]);
      }
      return s + "]";
    }
  }
  return "?";
}

}  // namespace iamq::queue
