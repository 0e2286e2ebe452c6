#pragma once
/// Test helper: an Emulator driven with SigV4-signed Query requests at an injected time,
/// with the XML answer parsed back (pugixml).
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <pugixml.hpp>

#include "client/query_encoder.hpp"
#include "client/signer.hpp"
#include "tests/iam_emulator/emulator.hpp"

namespace iamq::emulator::testing {

/// 2024-05-01T12:00:00Z: a fixed "now" so tests replay exactly.
inline TimePoint test_epoch() {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1714564800));
}

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  bool dropped = false;
  std::chrono::microseconds delay{0};
  pugi::xml_document doc;

  std::string code() const {
    return doc.child("ErrorResponse").child("Error").child_value("Code");
  }
  /// The <ActionResult> node of a successful reply.
  pugi::xml_node result(const std::string& action) const {
    return doc.child((action + "Response").c_str()).child((action + "Result").c_str());
  }
  /// Text values of every `field` under result/list/member.
  std::vector<std::string> members(const std::string& action, const char* list,
                                   const char* field) const {
    std::vector<std::string> out;
    for (auto m : result(action).child(list).children("member"))
      out.emplace_back(field ? m.child_value(field) : m.text().get());
    return out;
  }
};

class Harness {
 public:
  explicit Harness(State state = State::with_default_account(), Options options = {})
      : emulator(std::move(state), std::move(options)) {}

  /// A signed POST of `action` with `params`, received at `now + offset`.
  Reply call(const std::string& action, const client::Params& params = {},
             std::chrono::milliseconds offset = std::chrono::milliseconds(0)) {
    return call_with(action, params, creds, test_epoch() + offset, test_epoch() + offset);
  }

  /// Full control: who signs, when it was signed, when it arrives.
  Reply call_with(const std::string& action, const client::Params& params,
                  const client::Credentials& signer, TimePoint signed_at, TimePoint received_at,
                  std::string region = "us-east-1") {
    client::SignableRequest req;
    req.method = "POST";
    req.path = "/";
    req.headers = {{"Host", "127.0.0.1:4566"},
                   {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
    req.body = client::encode_query(action, params);
    client::SigningScope scope{region, "iam", client::format_amz_date(signed_at)};
    client::sign(req, signer, scope);
    Request r{"POST", "/", req.headers, req.body, received_at};
    return send(r);
  }

  Reply send(const Request& r) {
    Response res = emulator.handle(r);
    Reply out;
    out.status = res.status;
    out.body = res.body;
    out.content_type = res.content_type;
    out.dropped = res.drop_connection;
    out.delay = res.delay;
    if (res.content_type == "text/xml") out.doc.load_string(out.body.c_str());
    return out;
  }

  /// An admin call (no signature).
  Response admin(const std::string& method, const std::string& path, const std::string& body = {}) {
    Request r{method, path, {{"Host", "127.0.0.1"}}, body, test_epoch()};
    return emulator.handle(r);
  }

  client::Credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  Emulator emulator;
};

}  // namespace iamq::emulator::testing
