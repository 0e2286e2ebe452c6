// The iam_calls planner: a fixed list of allow-listed steps, made in order. The allow-list
// was checked for every step before the planner was made (planner.cpp, check_allowed).
#include <utility>
#include <vector>

#include "worker/planner_detail.hpp"
#include "worker/redaction.hpp"

namespace iamq::worker::detail {

namespace {

class IamCallsPlanner final : public MachineBase {
 public:
  IamCallsPlanner(const Job& job, const PlannerOptions& opts) : MachineBase(opts.dry_run) {
    for (std::size_t i = 0; i < job.steps.size(); ++i) {
      const auto& s = job.steps[i];
      std::string desc = "step " + std::to_string(i + 1) + ": " + s.action;
      for (const auto& [k, v] : s.params) {
        // Steps only name things (users, keys ids, ARNs); still, keep descriptions short.
        if (desc.size() > 200) break;
        desc += " " + k + "=" + (is_secret_name(k) ? std::string(kRedacted) : v);
      }
      desc = redact_text(desc);
      steps_.push_back(PlannedCall{s.action, s.params, !is_read_only_action(s.action), std::move(desc)});
    }
    if (steps_.empty()) finish(final_outcome());
  }

  nlohmann::json checkpoint() const override {
    nlohmann::json j = base_checkpoint("iam_calls");
    j["step"] = index_;
    j["steps"] = steps_.size();
    return j;
  }

  bool restore(const nlohmann::json& j) {
    if (!j.is_object() || j.value("v", 0) != 1 || j.value("type", std::string()) != "iam_calls") return false;
    try {
      const auto index = j.at("step").get<std::size_t>();
      if (j.at("steps").get<std::size_t>() != steps_.size() || index > steps_.size()) return false;
      restore_base(j);
      index_ = index;
      return true;
    } catch (const nlohmann::json::exception&) {
      return false;
    }
  }

 protected:
  std::optional<PlannedCall> current() const override {
    if (index_ >= steps_.size()) return std::nullopt;
    return steps_[index_];
  }
  void skip() override { advance(); }
  void on_success(const client::IamResult*) override { advance(); }
  // NoSuchEntity: what the step would remove is already gone; go on.
  void on_absent() override { advance(); }
  // A List* step the endpoint does not implement: recorded, and the next step runs.
  void on_unsupported(const client::IamError& e) override {
    note_unsupported(steps_[index_].action, "steps[" + std::to_string(index_) + "]", e);
    advance();
  }

 private:
  std::string final_outcome() const { return dry_run_ ? "dry_run" : "done"; }
  void advance() {
    ++index_;
    if (index_ >= steps_.size()) finish(final_outcome());
  }

  std::vector<PlannedCall> steps_;
  std::size_t index_ = 0;
};

class RefusedPlanner final : public MachineBase {
 public:
  explicit RefusedPlanner(const std::string& reason) : MachineBase(false) {
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "NotAllowed";
    e.message = reason;
    fail(e);
    result_.invalid = true;
  }
  nlohmann::json checkpoint() const override { return base_checkpoint("refused"); }

 protected:
  std::optional<PlannedCall> current() const override { return std::nullopt; }
  void skip() override {}
  void on_success(const client::IamResult*) override {}
  void on_absent() override {}
};

}  // namespace

std::unique_ptr<Planner> make_iam_calls_planner(const Job& job, const PlannerOptions& opts,
                                                const nlohmann::json& checkpoint) {
  auto p = std::make_unique<IamCallsPlanner>(job, opts);
  if (!checkpoint.is_null() && !p->restore(checkpoint)) p = std::make_unique<IamCallsPlanner>(job, opts);
  return p;
}

std::unique_ptr<Planner> make_refused_planner(const std::string& reason) {
  return std::make_unique<RefusedPlanner>(reason);
}

}  // namespace iamq::worker::detail
