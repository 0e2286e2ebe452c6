#pragma once
/// What the emulator's IAM action handlers share (iam_actions*.cpp): IAM-shaped errors,
/// parameter validation, XML helpers and pagination. Internal to the emulator's core.
#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "tests/iam_emulator/iam_actions.hpp"

namespace iamq::emulator::detail {

using Err = ActionResult;

// ---------------------------------------------------------------------------------------
// Errors, shaped and worded as IAM's.

ApiError error(int status, std::string code, std::string message);
ApiError no_such_entity(std::string message);
ApiError no_such_user(const std::string& name);
ApiError delete_conflict(std::string message);
ApiError already_exists(std::string message);
ApiError limit_exceeded(std::string quota, int n);
ApiError invalid_input(std::string message);

/// IAM's member name in validation messages: "UserName" → "userName".
std::string member(std::string_view param);
ApiError validation(std::string_view param, const std::string* value, const std::string& constraint,
                    bool secret = false);

// ---------------------------------------------------------------------------------------
// Parameter validation.

enum class Chars { name, serial, path, word, digits, printable, any };

bool char_ok(Chars kind, char ch);

const char* pattern_text(Chars kind);

/// Reads and validates parameter `name` into `out`. Absent and not required: `out` = fallback.
Err get(const CallContext& c, std::string_view name, std::string& out, Chars kind,
        std::size_t min_len, std::size_t max_len, bool required = true, std::string fallback = {},
        bool secret = false);

Err get_user_name(const CallContext& c, std::string& out);
Err get_enum(const CallContext& c, std::string_view name, std::string& out,
             std::initializer_list<const char*> values, bool required, std::string fallback = {});
Err get_bool(const CallContext& c, std::string_view name, std::optional<bool>& out);
Err get_policy_document(const CallContext& c, std::string& out);
Err get_arn(const CallContext& c, std::string_view name, std::string& out);

User* find_user(const CallContext& c, const std::string& name);
Err user_param(CallContext& c, User*& user);

// ---------------------------------------------------------------------------------------
// XML.

pugi::xml_node add(pugi::xml_node parent, const char* name, std::string_view text);
const char* bool_text(bool b);

std::string user_arn(const Account& a, const User& u);
std::string group_arn(const Account& a, const Group& g);
void user_xml(pugi::xml_node n, const Account& a, const User& u, bool with_boundary);
void group_xml(pugi::xml_node n, const Account& a, const Group& g);
std::size_t attachment_count(const Account& a, const std::string& arn, std::size_t* boundaries);
void policy_xml(pugi::xml_node n, const Account& a, const ManagedPolicy& p);

std::string base64(std::string_view raw);

// ---------------------------------------------------------------------------------------
// Pagination: MaxItems (1–1000, default the emulator's page size), Marker (opaque: the hex of
// the next item's sort key, so deleting items between pages never invalidates a marker).

struct Paging {
  std::size_t max_items = 5;
  std::optional<std::string> marker;  ///< decoded sort key to start at
};

Err read_paging(const CallContext& c, Paging& p);

std::string encode_marker(std::string_view key);

/// Writes one page of [it, last) (already positioned at the marker) into `list`, then
/// IsTruncated and Marker into `result`. `key(item)` is the sort key, `keep(item)` a filter,
/// `emit(member_node, item)` the member's fields.
template <class It, class Key, class Keep, class Emit>
void write_page(It it, It last, const Paging& paging, pugi::xml_node result, const char* list_name,
                Key key, Keep keep, Emit emit) {
  pugi::xml_node list = result.append_child(list_name);
  std::size_t n = 0;
  for (; it != last; ++it) {
    if (!keep(*it)) continue;
    if (n == paging.max_items) break;
    emit(list.append_child("member"), *it);
    ++n;
  }
  bool truncated = it != last;
  add(result, "IsTruncated", bool_text(truncated));
  if (truncated) add(result, "Marker", encode_marker(key(*it)));
}

/// Pages a small collection sorted by `key` (per-user lists).
template <class T, class Key, class Emit>
void page_vector(const std::vector<const T*>& items_in, const Paging& paging, pugi::xml_node result,
                 const char* list_name, Key key, Emit emit) {
  std::vector<const T*> items = items_in;
  std::sort(items.begin(), items.end(), [&](const T* a, const T* b) { return key(*a) < key(*b); });
  auto it = items.begin();
  if (paging.marker)
    it = std::lower_bound(items.begin(), items.end(), *paging.marker,
                          [&](const T* a, const std::string& m) { return key(*a) < m; });
  write_page(
      it, items.end(), paging, result, list_name, [&](const T* p) { return key(*p); },
      [](const T*) { return true; }, [&](pugi::xml_node n, const T* p) { emit(n, *p); });
}

template <class T>
std::vector<const T*> pointers(const std::vector<T>& v) {
  std::vector<const T*> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(&x);
  return out;
}

/// PathPrefix (default "/").
Err check_path_prefix(const CallContext& c, std::string& prefix);

/// Each group of actions adds its (name, mutating, handler) entries to `out`, in order.
void add_user_actions(std::vector<ActionSpec>& out);    // users, login profiles, credentials
void add_policy_actions(std::vector<ActionSpec>& out);  // MFA devices, inline and managed policies
void add_group_actions(std::vector<ActionSpec>& out);   // groups

}  // namespace iamq::emulator::detail
