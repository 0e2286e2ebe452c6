// `iamq stats [--json]`: counts per status, intake, lanes, pending, delayed, dead, paused
// accounts, consumers, circuits.
#include <iomanip>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

namespace {

nlohmann::json stats_json(const queue::QueueStats& s) {
  nlohmann::json consumers = nlohmann::json::array();
  for (const auto& c : s.consumers) {
    consumers.push_back({{"name", c.name}, {"pending", c.pending}, {"idle_ms", c.idle_ms}});
  }
  nlohmann::json circuits = nlohmann::json::array();
  for (const auto& c : s.circuits) {
    circuits.push_back(
        {{"account", c.account}, {"state", c.state}, {"error", c.error}, {"since_ms", c.since_ms}});
  }
  nlohmann::json paused = nlohmann::json::object();
  for (const auto& [scope, v] : s.paused) {
    auto j = nlohmann::json::parse(v, nullptr, false);
    paused[scope] = j.is_discarded() ? nlohmann::json::object() : j;
  }
  return {{"now_ms", s.now_ms},
          {"counts", s.counts},
          {"stream_length", s.stream_length},
          {"waiting", s.waiting},
          {"pending", s.pending},
          {"delayed", s.delayed},
          {"delayed_due", s.delayed_due},
          {"dead", s.dead},
          {"oldest_waiting_age_ms", s.oldest_waiting_age_ms},
          {"consumers", consumers},
          {"circuits", circuits},
          {"in_lanes", s.in_lanes},
          {"lanes", s.lanes},
          {"paused", paused}};
}

void print_stats(const queue::QueueStats& s, const std::string& ns) {
  std::cout << "namespace " << ns << "\n\njobs by status\n";
  for (const char* k :
       {"queued", "running", "retry_scheduled", "succeeded", "failed", "dead", "cancelled"}) {
    auto it = s.counts.find(k);
    std::cout << "  " << std::left << std::setw(18) << k << (it == s.counts.end() ? 0 : it->second)
              << "\n";
  }
  std::cout << "\nqueue\n";
  auto row = [](const std::string& k, const std::string& v) {
    std::cout << "  " << std::left << std::setw(18) << k << v << "\n";
  };
  row("stream length", std::to_string(s.stream_length));
  row("not yet routed", std::to_string(s.waiting));
  row("in lanes", std::to_string(s.in_lanes));
  row("in flight", std::to_string(s.pending));
  row("delayed", std::to_string(s.delayed) + " (" + std::to_string(s.delayed_due) + " due)");
  row("dead letters", std::to_string(s.dead));
  row("oldest waiting", format_age(s.oldest_waiting_age_ms));
  if (!s.paused.empty()) {
    std::cout << "\npaused\n";
    for (const auto& [scope, v] : s.paused) {
      auto j = nlohmann::json::parse(v, nullptr, false);
      std::string since, reason;
      if (j.is_object()) {
        if (j.contains("since") && j["since"].is_number_integer()) since = format_ms(std::to_string(j["since"].get<long long>()));
        reason = j.value("reason", std::string());
      }
      std::cout << "  " << std::left << std::setw(20) << (scope == "*" ? "(every account)" : scope)
                << "since " << since << (reason.empty() ? "" : "  " + reason) << "\n";
    }
  }
  if (!s.lanes.empty()) {
    std::cout << "\nlanes (account:priority, jobs waiting)\n";
    for (const auto& [lane, n] : s.lanes) {
      std::cout << "  " << std::left << std::setw(40) << lane << n << "\n";
    }
  }
  std::cout << "\nconsumers (" << s.consumers.size() << ")\n";
  for (const auto& c : s.consumers) {
    std::cout << "  " << std::left << std::setw(48) << c.name << "pending " << std::setw(6)
              << c.pending << "idle " << format_age(c.idle_ms) << "\n";
  }
  if (!s.circuits.empty()) {
    std::cout << "\ncircuits open\n";
    for (const auto& c : s.circuits) {
      std::cout << "  " << std::left << std::setw(20) << c.account << std::setw(10) << c.state
                << "since " << format_ms(std::to_string(c.since_ms)) << "  " << c.error << "\n";
    }
  }
}

}  // namespace

void add_stats_command(CLI::App& app, const GlobalOptions& g) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("stats", "Queue statistics: counts, depth, consumers");
  cmd->add_flag("--json", *json, "As JSON");
  cmd->callback([&g, json] {
    QueueSession session(g);
    auto s = session.await<queue::QueueStats>("stats",
                                              [&](auto cb) { session.queue().stats(cb); });
    if (*json) {
      std::cout << stats_json(s).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    } else {
      print_stats(s, session.config().ns);
    }
  });
}

}  // namespace iamq::commands
