// The emulator's IAM actions: the table of every action served (from iam_actions_*.cpp), and
// running one into IAM's response document.
#include "tests/iam_emulator/iam_actions.hpp"

#include <unordered_map>

#include "tests/iam_emulator/iam_action_support.hpp"

namespace iamq::emulator {

namespace {

using namespace detail;

const std::vector<ActionSpec>& actions() {
  static const std::vector<ActionSpec> all = [] {
    std::vector<ActionSpec> v;
    add_user_actions(v);
    add_policy_actions(v);
    add_group_actions(v);
    return v;
  }();
  return all;
}

/// string_view-keyed index, built once.
const std::unordered_map<std::string_view, const ActionSpec*>& action_index() {
  static const auto index = [] {
    std::unordered_map<std::string_view, const ActionSpec*> m;
    m.reserve(actions().size() * 2);
    for (const auto& a : actions()) m.emplace(a.name, &a);
    return m;
  }();
  return index;
}

/// pugixml writer into a std::string.
struct StringWriter : pugi::xml_writer {
  std::string& out;
  explicit StringWriter(std::string& o) : out(o) {}
  void write(const void* data, std::size_t size) override {
    out.append(static_cast<const char*>(data), size);
  }
};

}  // namespace

const ActionSpec* find_action(std::string_view name) {
  const auto& index = action_index();
  auto it = index.find(name);
  return it == index.end() ? nullptr : it->second;
}

const std::vector<ActionSpec>& all_actions() { return actions(); }

const std::string* find_param(const client::Params& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

std::string error_xml(const ApiError& e, const std::string& request_id) {
  pugi::xml_document doc;
  auto root = doc.append_child("ErrorResponse");
  root.append_attribute("xmlns") = kIamNamespace;
  auto err = root.append_child("Error");
  add(err, "Type", e.receiver ? "Receiver" : "Sender");
  add(err, "Code", e.code);
  add(err, "Message", e.message);
  add(root, "RequestId", request_id);
  std::string body;
  body.reserve(256);
  StringWriter w(body);
  doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
  return body;
}

ActionResult run_action(const ActionSpec& spec, CallContext& ctx, const std::string& request_id,
                        std::string& body) {
  pugi::xml_document doc;
  std::string name(spec.name);
  auto root = doc.append_child((name + "Response").c_str());
  root.append_attribute("xmlns") = kIamNamespace;
  auto result = root.append_child((name + "Result").c_str());
  ActionResult err = spec.handler(ctx, result);
  if (err) {
    body = error_xml(*err, request_id);
    return err;
  }
  if (!result.first_child()) root.remove_child(result);  // IAM omits empty results
  add(root.append_child("ResponseMetadata"), "RequestId", request_id);
  body.clear();
  body.reserve(512);
  StringWriter w(body);
  doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
  return std::nullopt;
}

}  // namespace iamq::emulator
