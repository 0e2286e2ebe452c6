#include "worker/unsupported_detector.hpp"

namespace iamq::worker {

namespace {

enum class Kind {
  answered,   ///< a result, or an IAM error document that is not a 5xx: the endpoint works
  bare_5xx,   ///< 5xx without IAM's error envelope
  trouble,    ///< anything else: timeouts, resets, IAM 5xx (ServiceFailure), throttling
  unsupported ///< already classified: 501, NotImplemented, InvalidAction, UnknownOperation
};

Kind kind_of(const client::Outcome& o) {
  if (o.ok) return Kind::answered;
  if (!o.error) return Kind::trouble;
  const client::IamError& e = *o.error;
  if (e.error_class == client::ErrorClass::unsupported) return Kind::unsupported;
  const bool is_5xx = e.http_status >= 500 && e.http_status <= 599;
  if (is_5xx && client::without_error_envelope(e)) return Kind::bare_5xx;
  if (e.http_status >= 400 && e.http_status < 500 && !client::without_error_envelope(e) &&
      e.error_class != client::ErrorClass::throttled) {
    return Kind::answered;
  }
  return Kind::trouble;
}

bool is_list_action(std::string_view action) { return action.size() > 4 && action.substr(0, 4) == "List"; }

}  // namespace

bool UnsupportedDetector::judged_unsupported(std::string_view action) const {
  return unsupported_.find(action) != unsupported_.end();
}

UnsupportedDetector::Verdict UnsupportedDetector::observe(std::string_view action, client::Outcome& outcome) {
  Verdict v;
  const Kind kind = kind_of(outcome);
  auto mark = [&] {
    outcome.error->error_class = client::ErrorClass::unsupported;
    v.unsupported = true;
    v.first = reported_.emplace(action).second;
    unsupported_.emplace(action);
  };
  switch (kind) {
    case Kind::unsupported:
      streaks_.erase(std::string(action));
      mark();
      return v;
    case Kind::answered:
      // Another action's answer vouches for the endpoint in the others' streaks; this
      // action's own streak ends.
      if (auto it = streaks_.find(action); it != streaks_.end()) streaks_.erase(it);
      for (auto& [name, streak] : streaks_) streak.vouched = true;
      if (auto it = unsupported_.find(action); it != unsupported_.end()) unsupported_.erase(it);
      reported_.erase(std::string(action));
      last_answered_ = std::string(action);
      return v;
    case Kind::trouble:
      // The endpoint itself is in trouble: no streak survives it.
      streaks_.clear();
      last_answered_.clear();
      return v;
    case Kind::bare_5xx:
      break;
  }
  if (!is_list_action(action)) {
    // Only List* steps may be skipped: a bare 5xx elsewhere is the endpoint's trouble.
    streaks_.clear();
    last_answered_.clear();
    return v;
  }
  if (judged_unsupported(action)) {
    mark();  // neutral: last_answered_ stays as it was
    return v;
  }
  // Another action's bare 5xx in between means the endpoint fails more than this action.
  for (auto it = streaks_.begin(); it != streaks_.end();) {
    if (it->first != action && !judged_unsupported(it->first)) {
      it = streaks_.erase(it);
    } else {
      ++it;
    }
  }
  auto [it, fresh] = streaks_.try_emplace(std::string(action));
  Streak& s = it->second;
  if (fresh || s.count == 0) {
    s.vouched = !last_answered_.empty() && last_answered_ != action;
    s.before = last_answered_;
  }
  ++s.count;
  last_answered_.clear();
  if (s.count >= kRepeats && s.vouched) {
    // Judged: its answers were not the endpoint's trouble after all, so they do not count
    // against the next action's streak (a job alone meets them one after the other).
    last_answered_ = s.before;
    streaks_.erase(it);
    mark();
  }
  return v;
}

}  // namespace iamq::worker
