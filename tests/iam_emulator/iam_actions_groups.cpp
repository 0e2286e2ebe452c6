// IAM actions on groups and their members.
#include <algorithm>

#include "tests/iam_emulator/iam_action_support.hpp"

namespace iamq::emulator::detail {

namespace {

// ---------------------------------------------------------------------------------------
// Groups.

Group* find_group(const CallContext& c, const std::string& name) {
  auto it = c.account.groups.find(lower(name));
  return it == c.account.groups.end() ? nullptr : &it->second;
}
Err group_param(CallContext& c, Group*& g) {
  std::string name;
  if (auto e = get(c, "GroupName", name, Chars::name, 1, 128)) return e;
  g = find_group(c, name);
  if (!g) return no_such_entity("The group with name " + name + " cannot be found.");
  return std::nullopt;
}
bool in_group(const User& u, const Group& g) {
  return std::any_of(u.groups.begin(), u.groups.end(),
                     [&](const std::string& n) { return lower(n) == lower(g.name); });
}

Err create_group(CallContext& c, pugi::xml_node r) {
  std::string name, path;
  if (auto e = get(c, "GroupName", name, Chars::name, 1, 128)) return e;
  if (auto e = get(c, "Path", path, Chars::path, 1, 512, false, "/")) return e;
  if (find_group(c, name)) return already_exists("Group with name " + name + " already exists.");
  Group g{name, c.state.next_id("AGPA", 17), path, iso8601(c.now)};
  group_xml(r.append_child("Group"), c.account, g);
  c.account.groups.emplace(lower(name), std::move(g));
  return std::nullopt;
}
Err get_group(CallContext& c, pugi::xml_node r) {
  Group* g = nullptr;
  Paging paging;
  if (auto e = group_param(c, g)) return e;
  if (auto e = read_paging(c, paging)) return e;
  group_xml(r.append_child("Group"), c.account, *g);
  auto& users = c.account.users;
  auto it = paging.marker ? users.lower_bound(*paging.marker) : users.begin();
  write_page(
      it, users.end(), paging, r, "Users", [](const auto& kv) { return kv.first; },
      [&](const auto& kv) { return in_group(kv.second, *g); },
      [&](pugi::xml_node n, const auto& kv) { user_xml(n, c.account, kv.second, false); });
  return std::nullopt;
}
Err list_groups(CallContext& c, pugi::xml_node r) {
  Paging paging;
  std::string prefix;
  if (auto e = read_paging(c, paging)) return e;
  if (auto e = check_path_prefix(c, prefix)) return e;
  auto& groups = c.account.groups;
  auto it = paging.marker ? groups.lower_bound(*paging.marker) : groups.begin();
  write_page(
      it, groups.end(), paging, r, "Groups", [](const auto& kv) { return kv.first; },
      [&](const auto& kv) { return kv.second.path.rfind(prefix, 0) == 0; },
      [&](pugi::xml_node n, const auto& kv) { group_xml(n, c.account, kv.second); });
  return std::nullopt;
}
Err delete_group(CallContext& c, pugi::xml_node) {
  Group* g = nullptr;
  if (auto e = group_param(c, g)) return e;
  for (const auto& [k, u] : c.account.users)
    if (in_group(u, *g))
      return delete_conflict("Cannot delete entity, must remove users from group first.");
  c.account.groups.erase(lower(g->name));
  return std::nullopt;
}
Err add_user_to_group(CallContext& c, pugi::xml_node) {
  Group* g = nullptr;
  User* u = nullptr;
  if (auto e = group_param(c, g)) return e;
  if (auto e = user_param(c, u)) return e;
  if (in_group(*u, *g)) return std::nullopt;  // idempotent, as IAM
  if (u->groups.size() >= 10) return limit_exceeded("GroupsPerUser", 10);
  u->groups.push_back(g->name);
  return std::nullopt;
}
Err remove_user_from_group(CallContext& c, pugi::xml_node) {
  Group* g = nullptr;
  User* u = nullptr;
  if (auto e = group_param(c, g)) return e;
  if (auto e = user_param(c, u)) return e;
  auto it = std::find_if(u->groups.begin(), u->groups.end(),
                         [&](const std::string& n) { return lower(n) == lower(g->name); });
  if (it == u->groups.end())
    return no_such_entity("User " + u->name + " is not in group " + g->name + ".");
  u->groups.erase(it);
  return std::nullopt;
}
Err list_groups_for_user(CallContext& c, pugi::xml_node r) {
  User* u = nullptr;
  Paging paging;
  if (auto e = user_param(c, u)) return e;
  if (auto e = read_paging(c, paging)) return e;
  std::vector<const Group*> groups;
  for (const auto& name : u->groups)
    if (const Group* g = find_group(c, name)) groups.push_back(g);
  page_vector(groups, paging, r, "Groups", [](const Group& g) { return lower(g.name); },
              [&](pugi::xml_node n, const Group& g) { group_xml(n, c.account, g); });
  return std::nullopt;
}

}  // namespace

void add_group_actions(std::vector<ActionSpec>& out) {
  out.insert(out.end(), {
      {"CreateGroup", true, create_group},
      {"GetGroup", false, get_group},
      {"ListGroups", false, list_groups},
      {"DeleteGroup", true, delete_group},
      {"AddUserToGroup", true, add_user_to_group},
      {"RemoveUserFromGroup", true, remove_user_from_group},
      {"ListGroupsForUser", false, list_groups_for_user},
  });
}

}  // namespace iamq::emulator::detail
