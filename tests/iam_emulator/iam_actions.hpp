#pragma once
/// IAM's rules (sans-io): one handler per Query-protocol action, applied to an Account and
/// written as IAM's XML. No auth, faults or transport here: see emulator.hpp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <pugixml.hpp>

#include "client/query_encoder.hpp"
#include "tests/iam_emulator/iam_state.hpp"

namespace iamq::emulator {

inline constexpr const char* kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

/// An IAM error as it goes on the wire.
struct ApiError {
  int http_status = 400;
  std::string code;
  std::string message;
  bool receiver = false;  ///< <Type>Receiver</Type> (server side) instead of Sender
};

/// Everything one call may read or change.
struct CallContext {
  State& state;
  Account& account;
  const ApiKey& caller;
  const client::Params& params;
  TimePoint now;
  int page_size = 5;  ///< List* page size when MaxItems is absent
};

using ActionResult = std::optional<ApiError>;  ///< nullopt: success, result written
using ActionHandler = ActionResult (*)(CallContext&, pugi::xml_node result);

/// One IAM action the emulator serves.
struct ActionSpec {
  std::string_view name;
  bool mutating;
  ActionHandler handler;
};

/// The action named `name`, or nullptr (→ InvalidAction).
const ActionSpec* find_action(std::string_view name);
/// Every action served, in a stable order.
const std::vector<ActionSpec>& all_actions();

/// The value of parameter `name`, or nullptr.
const std::string* find_param(const client::Params& params, std::string_view name);

/// Runs `spec` and renders the full response document (success or error) into `body`;
/// returns the error when the call failed.
ActionResult run_action(const ActionSpec& spec, CallContext& ctx, const std::string& request_id,
                        std::string& body);

/// `<ErrorResponse xmlns=…><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
std::string error_xml(const ApiError& error, const std::string& request_id);

}  // namespace iamq::emulator
