#include "client/iam_response.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <unordered_map>

namespace iamq::client {

namespace {

/// Deeper nesting than this is not IAM; the subtree is cut (keeps recursion bounded for fuzzing).
constexpr int kMaxDepth = 64;
/// Caps on what an error document may put into an IamError (IAM's own are far shorter).
constexpr std::size_t kMaxCodeBytes = 128;
constexpr std::size_t kMaxMessageBytes = 1024;

/// IAM result elements that hold `member` lists. An empty one (`<Users/>`) becomes [] rather
/// than "", so callers see a list whether or not it had entries.
constexpr std::string_view kListWrappers[] = {
    "AccessKeyMetadata",     "AccountAliases",         "AttachedManagedPolicies",
    "AttachedPolicies",      "Certificates",           "ClientIDList",
    "EntityDetailsList",     "EvaluationResults",      "GroupDetailList",
    "GroupList",             "GroupPolicyList",        "Groups",
    "InstanceProfileList",   "InstanceProfiles",       "MFADevices",
    "MatchedStatements",     "OpenIDConnectProviderList", "PermissionsBoundaryPolicyInputList",
    "PolicyGroups",          "PolicyList",             "PolicyNames",
    "PolicyRoles",           "PolicyUsers",            "PolicyVersionList",
    "Policies",              "ResourceSpecificResults", "RoleDetailList",
    "RolePolicyList",        "Roles",                  "SAMLProviderList",
    "SSHPublicKeys",         "ServerCertificateMetadataList", "ServiceSpecificCredentials",
    "ServicesLastAccessed",  "Tags",                   "ThumbprintList",
    "UserDetailList",        "UserPolicyList",         "Users",
    "Versions",              "VirtualMFADevices",      "MissingContextValues",
    "EntityPath",            "TrackedActionsLastAccessed",
};

/// Elements whose text is a secret: never copied into an error message.
constexpr std::string_view kSecretElements[] = {
    "SecretAccessKey", "SessionToken", "Password", "ServicePassword", "PrivateKey", "ServiceSpecificCredentialSecret",
};

bool is_list_wrapper(std::string_view name) {
  return std::find(std::begin(kListWrappers), std::end(kListWrappers), name) != std::end(kListWrappers);
}

/// Element name without a namespace prefix ("iam:Users" → "Users").
std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  const std::size_t colon = name.rfind(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

bool is_element(const pugi::xml_node& node) { return node.type() == pugi::node_element; }

/// First element child with local name `name`, or an empty node.
pugi::xml_node child(const pugi::xml_node& parent, std::string_view name) {
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (is_element(c) && local_name(c) == name) return c;
  }
  return {};
}

/// Concatenated text (PCDATA and CDATA) directly inside `node`.
std::string text_of(const pugi::xml_node& node) {
  std::string out;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) out += c.value();
  }
  return out;
}

/// The generic rule: all-<member> children → array; no element children → string (or [] for
/// an empty known list wrapper); otherwise an object (a repeated non-member name → array).
nlohmann::json to_json(const pugi::xml_node& node, int depth) {
  bool any_element = false;
  bool all_members = true;
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (!is_element(c)) continue;
    any_element = true;
    if (local_name(c) != "member") all_members = false;
  }
  if (!any_element || depth >= kMaxDepth) {
    std::string text = text_of(node);
    if (text.empty() && is_list_wrapper(local_name(node))) return nlohmann::json::array();
    return text;
  }
  if (all_members) {
    nlohmann::json arr = nlohmann::json::array();
    for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
      if (is_element(c)) arr.push_back(to_json(c, depth + 1));
    }
    return arr;
  }
  nlohmann::json obj = nlohmann::json::object();
  std::set<std::string> repeated;  // keys already turned into a list of their values
  for (pugi::xml_node c = node.first_child(); c; c = c.next_sibling()) {
    if (!is_element(c)) continue;
    const std::string key(local_name(c));
    nlohmann::json value = to_json(c, depth + 1);
    auto it = obj.find(key);
    if (it == obj.end()) {
      obj[key] = std::move(value);
      continue;
    }
    if (repeated.insert(key).second) {
      // First repetition: the single value becomes the first of a list of values.
      nlohmann::json list = nlohmann::json::array();
      list.push_back(std::move(*it));
      *it = std::move(list);
    }
    it->push_back(std::move(value));
  }
  return obj;
}

bool is_2xx(int status) { return status >= 200 && status < 300; }

/// Replaces the text of secret-bearing elements in a raw (possibly broken) body by "***".
/// Plain string search on purpose: the body did not parse, so there is no tree to walk.
std::string redact_secret_elements(std::string_view body) {
  std::string out(body);
  for (const auto name : kSecretElements) {
    const std::string open = "<" + std::string(name) + ">";
    std::size_t pos = 0;
    while ((pos = out.find(open, pos)) != std::string::npos) {
      const std::size_t start = pos + open.size();
      std::size_t end = out.find('<', start);
      if (end == std::string::npos) end = out.size();
      out.replace(start, end - start, "***");
      pos = start + 3;
    }
  }
  return out;
}

/// Control characters → spaces, whitespace runs collapsed, ends trimmed, at most `max_bytes`
/// bytes ("…" appended when cut, never inside a UTF-8 sequence).
std::string printable(std::string_view text, std::size_t max_bytes) {
  std::string clean;
  clean.reserve(std::min<std::size_t>(text.size(), max_bytes + 8));
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F || c == ' ') {
      if (!clean.empty() && clean.back() != ' ') clean.push_back(' ');
    } else {
      clean.push_back(ch);
    }
    if (clean.size() > max_bytes + 8) break;  // enough to know it must be cut
  }
  while (!clean.empty() && clean.back() == ' ') clean.pop_back();
  if (clean.size() <= max_bytes) return clean;
  static constexpr std::string_view kEllipsis = "…";
  std::size_t cut = max_bytes >= kEllipsis.size() ? max_bytes - kEllipsis.size() : 0;
  while (cut > 0 && (static_cast<unsigned char>(clean[cut]) & 0xC0) == 0x80) --cut;
  clean.resize(cut);
  if (max_bytes >= kEllipsis.size()) clean += kEllipsis;
  return clean;
}

IamError make_error(int status, std::string code, std::string message, std::string request_id,
                    std::string_view classify_code) {
  IamError e;
  e.http_status = status;
  e.error_class = classify(classify_code, status);
  e.code = std::move(code);
  e.message = std::move(message);
  e.request_id = std::move(request_id);
  return e;
}

Outcome error_outcome(IamError e) {
  Outcome o;
  o.error = std::move(e);
  return o;
}

/// The body starts (after blanks) with `<!DOCTYPE html` or `<html`, in any case.
bool looks_like_html(std::string_view body) {
  std::size_t i = 0;
  while (i < body.size() && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n')) ++i;
  std::string head;
  for (; i < body.size() && head.size() < 14; ++i) {
    head.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(body[i]))));
  }
  return head.starts_with("<!doctype html") || head.starts_with("<html");
}

/// A body that is not an IAM document: transient for 5xx and for an HTML error page (a
/// proxy's or load balancer's, non-2xx), throttled for 429, else terminal.
Outcome not_iam_xml(int status, std::string_view body, std::string_view what,
                    std::string_view code = "NonXmlResponse") {
  std::string message = "HTTP " + std::to_string(status) + ": " + std::string(what);
  // A 2xx body is a successful call's result and may carry secrets (CreateAccessKey): show
  // only its size. Error bodies are shown, redacted and cut.
  if (is_2xx(status)) {
    message += " (" + std::to_string(body.size()) + " bytes)";
  } else {
    message += ": " + body_excerpt(body);
  }
  Outcome o = error_outcome(make_error(status, std::string(code), std::move(message), "", code));
  if (!is_2xx(status) && status != 429 && looks_like_html(body)) o.error->error_class = ErrorClass::transient;
  return o;
}

/// The namespace URI of `node`'s name (its prefix's xmlns:p, or the default xmlns), looked up
/// on the node itself (a root element has no ancestors that could declare it).
std::string_view namespace_of(const pugi::xml_node& node) {
  const std::string_view name = node.name();
  const std::size_t colon = name.find(':');
  const std::string attr = colon == std::string_view::npos ? std::string("xmlns")
                                                           : "xmlns:" + std::string(name.substr(0, colon));
  return node.attribute(attr.c_str()).value();
}

bool known_namespace(std::string_view ns) { return ns == kIamNamespace || ns == kStsNamespace; }

Outcome parse_error_document(const pugi::xml_node& root, int status) {
  pugi::xml_node error = child(root, "Error");
  if (!error) error = child(child(root, "Errors"), "Error");
  std::string code = error ? text_of(child(error, "Code")) : std::string();
  std::string message = error ? text_of(child(error, "Message")) : std::string();
  std::string request_id = text_of(child(root, "RequestId"));
  if (request_id.empty()) request_id = text_of(child(root, "RequestID"));
  if (request_id.empty() && error) request_id = text_of(child(error, "RequestId"));
  if (request_id.empty()) request_id = text_of(child(child(root, "ResponseMetadata"), "RequestId"));
  // Bounded and printable: these end up in logs, Redis results and terminals.
  const std::string classify_code = code;
  code = printable(code, kMaxCodeBytes);
  message = printable(redact_secret_elements(message), kMaxMessageBytes);
  request_id = printable(request_id, kMaxCodeBytes);
  if (code.empty()) code = "UnknownError";
  if (message.empty()) message = "HTTP " + std::to_string(status) + " error response without a message";
  return error_outcome(make_error(status, std::move(code), std::move(message), std::move(request_id), classify_code));
}

}  // namespace

std::string_view to_string(ErrorClass c) {
  switch (c) {
    case ErrorClass::throttled: return "throttled";
    case ErrorClass::transient: return "transient";
    case ErrorClass::unmodifiable: return "unmodifiable";
    case ErrorClass::concurrent_modification: return "concurrent_modification";
    case ErrorClass::absent: return "absent";
    case ErrorClass::conflict: return "conflict";
    case ErrorClass::credentials: return "credentials";
    case ErrorClass::denied: return "denied";
    case ErrorClass::unsupported: return "unsupported";
    case ErrorClass::terminal: return "terminal";
  }
  return "terminal";
}

ErrorClass classify(std::string_view code, int http_status) {
  static const std::unordered_map<std::string_view, ErrorClass> table = {
      {"Throttling", ErrorClass::throttled},
      {"ThrottlingException", ErrorClass::throttled},
      {"RequestLimitExceeded", ErrorClass::throttled},
      {"RequestThrottled", ErrorClass::throttled},
      {"TooManyRequestsException", ErrorClass::throttled},
      {"ServiceFailure", ErrorClass::transient},
      {"ServiceUnavailable", ErrorClass::transient},
      {"InternalFailure", ErrorClass::transient},
      {"InternalError", ErrorClass::transient},
      {"EntityTemporarilyUnmodifiable", ErrorClass::unmodifiable},
      {"ConcurrentModification", ErrorClass::concurrent_modification},
      {"NoSuchEntity", ErrorClass::absent},
      {"DeleteConflict", ErrorClass::conflict},
      {"InvalidClientTokenId", ErrorClass::credentials},
      {"SignatureDoesNotMatch", ErrorClass::credentials},
      {"ExpiredToken", ErrorClass::credentials},
      {"RequestExpired", ErrorClass::credentials},
      {"IncompleteSignature", ErrorClass::credentials},
      {"MissingAuthenticationToken", ErrorClass::credentials},
      {"UnrecognizedClientException", ErrorClass::credentials},
      {"InvalidAccessKeyId", ErrorClass::credentials},
      {"AccessDenied", ErrorClass::denied},
      {"AccessDeniedException", ErrorClass::denied},
      // The endpoint does not have the action (LocalStack, moto, older emulators).
      {"NotImplemented", ErrorClass::unsupported},
      {"InvalidAction", ErrorClass::unsupported},
      {"UnknownOperation", ErrorClass::unsupported},
  };
  // 501 Not Implemented whatever the code: LocalStack answers it with InternalFailure.
  if (http_status == 501) return ErrorClass::unsupported;
  if (const auto it = table.find(code); it != table.end()) return it->second;
  if (http_status == 429) return ErrorClass::throttled;
  if (http_status >= 500 && http_status <= 599) return ErrorClass::transient;
  return ErrorClass::terminal;
}

bool IamResult::is_truncated() const {
  const auto it = result.find("IsTruncated");
  return it != result.end() && it->is_string() && it->get<std::string>() == "true";
}

std::optional<std::string> IamResult::marker() const {
  if (!is_truncated()) return std::nullopt;
  const auto it = result.find("Marker");
  if (it == result.end() || !it->is_string() || it->get<std::string>().empty()) return std::nullopt;
  return it->get<std::string>();
}

std::vector<nlohmann::json> members(const nlohmann::json& result, std::string_view key) {
  if (!result.is_object()) return {};
  const auto it = result.find(std::string(key));
  if (it == result.end()) return {};
  if (it->is_array()) return std::vector<nlohmann::json>(it->begin(), it->end());
  if (it->is_object()) return {*it};
  return {};  // "" (an empty list element) or any other scalar
}

bool without_error_envelope(const IamError& e) {
  return e.code == "NonXmlResponse" || e.code == "UnexpectedResponse";
}

std::string body_excerpt(std::string_view body, std::size_t max_bytes) {
  if (body.empty()) return "(empty body)";
  std::string clean = printable(redact_secret_elements(body), max_bytes);
  return clean.empty() ? "(blank body)" : clean;
}

Outcome parse_response(std::string_view action, int http_status, std::string_view body) {
  try {
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer(body.data(), body.size());
    if (!parsed) {
      const std::string what = std::string("response body is not XML (") + parsed.description() + " at offset " +
                               std::to_string(parsed.offset) + ")";
      return not_iam_xml(http_status, body, what);
    }
    const pugi::xml_node root = doc.document_element();
    if (!root) return not_iam_xml(http_status, body, "response body has no XML element");
    const std::string_view root_name = local_name(root);

    // <ErrorResponse> (IAM/STS) or <Response><Errors><Error> (the EC2-style shape).
    if (root_name == "ErrorResponse" || (root_name == "Response" && child(child(root, "Errors"), "Error"))) {
      return parse_error_document(root, http_status);
    }
    // The answer must be this action's: a server that answers <GetUserResponse> to a
    // DeleteUser has not deleted anything.
    const std::string expected = std::string(action) + "Response";
    if (root_name != expected || !known_namespace(namespace_of(root))) {
      std::string what = "expected <" + printable(expected, 140) + "> in namespace " + std::string(kIamNamespace) +
                         ", got <" + printable(root_name, 64) + ">";
      const std::string_view ns = namespace_of(root);
      what += ns.empty() ? std::string(" without a namespace") : " in namespace " + printable(ns, 100);
      return not_iam_xml(http_status, body, what, "UnexpectedResponse");
    }
    std::string request_id = text_of(child(child(root, "ResponseMetadata"), "RequestId"));
    if (!is_2xx(http_status)) {
      // A result document with a failure status: trust the status, keep what we know.
      return error_outcome(make_error(http_status, "UnexpectedResponse",
                                      "HTTP " + std::to_string(http_status) + " with a <" + printable(root_name, 64) +
                                          "> body",
                                      printable(request_id, kMaxCodeBytes), ""));
    }

    IamResult r;
    r.http_status = http_status;
    r.request_id = std::move(request_id);
    r.raw_xml = std::string(body);
    pugi::xml_node result_node = child(root, std::string(action) + "Result");
    if (!result_node) {
      for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
        if (is_element(c) && local_name(c).ends_with("Result")) {
          result_node = c;
          break;
        }
      }
    }
    if (result_node) {
      nlohmann::json value = to_json(result_node, 0);
      if (value.is_object()) r.result = std::move(value);
    }
    Outcome o;
    o.ok = std::move(r);
    return o;
  } catch (const std::exception& e) {
    // Only allocation failures can get here; report them rather than throw into the caller.
    return error_outcome(make_error(http_status, "ResponseParseError", std::string("cannot parse response: ") + e.what(),
                                    "", "ResponseParseError"));
  }
}

}  // namespace iamq::client
