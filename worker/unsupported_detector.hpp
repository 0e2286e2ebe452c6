#pragma once
/// Decides when an endpoint does not implement a read-only `List*` action (sans-io), so that
/// offboarding goes on against IAM-compatible endpoints that lack one (moto answers an
/// unimplemented action with a bare HTTP 500, LocalStack with a 501).
///
/// An answer is `unsupported` when:
///  - its class already is (HTTP 501, NotImplemented, InvalidAction, UnknownOperation); or
///  - it is a 5xx without IAM's error envelope to a `List*` action, that action's last
///    kRepeats answers were all such 5xx, another action got an IAM answer (a result, or an
///    IAM error document that is not a 5xx) just before the first of them or in between, and
///    no other call to the endpoint failed in between (a timeout, a reset, an IAM 5xx such as
///    ServiceFailure, or a bare 5xx to another action not judged unsupported: any of these
///    starts the count again). A single 5xx never counts; neither does a load balancer
///    answering every action with a 503 page, since the other actions fail too.
/// Once an action is judged unsupported, its next bare 5xx is unsupported at once, until the
/// action gives any other answer. One detector per endpoint (account). No I/O, no clock.
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "client/iam_response.hpp"

namespace iamq::worker {

class UnsupportedDetector {
 public:
  /// Consecutive bare 5xx answers of one action that make it unsupported.
  static constexpr int kRepeats = 3;

  struct Verdict {
    bool unsupported = false;  ///< the outcome's error now has class `unsupported`
    bool first = false;        ///< first such answer for this action: log it, once
  };

  /// Feeds the final answer of one call of `action` (after the client's own refresh retry);
  /// turns `outcome`'s error into class `unsupported` when the rule above says so.
  Verdict observe(std::string_view action, client::Outcome& outcome);

  /// Whether `action` is currently judged unsupported.
  bool judged_unsupported(std::string_view action) const;

 private:
  struct Streak {
    int count = 0;            ///< consecutive bare 5xx answers
    bool vouched = false;     ///< another action got an IAM answer just before or during it
    std::string before;       ///< last_answered_ when it began
  };
  std::map<std::string, Streak, std::less<>> streaks_;
  std::set<std::string, std::less<>> unsupported_;   ///< judged; cleared by another answer
  std::set<std::string, std::less<>> reported_;      ///< `first` already returned
  std::string last_answered_;                        ///< action of the last IAM answer, if last
};

}  // namespace iamq::worker
