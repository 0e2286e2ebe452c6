// `iamq webhooks list [--json] [--limit N]` and `iamq webhooks retry ID | --all`: what the
// webhook outbox holds and which deliveries failed (worker/webhook_dispatcher.hpp), and
// sending failed ones again.
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"
#include "worker/webhook_dispatcher.hpp"

namespace iamq::commands {

namespace {

struct ListFlags {
  bool json = false;
  std::size_t limit = 50;
};

struct RetryFlags {
  std::optional<std::string> id;
  bool all = false;
};

void run_list(const GlobalOptions& g, const ListFlags& f) {
  QueueSession session(g);
  const std::string ns = session.config().ns;
  const std::string outbox = ns + ":outbox";
  const std::string failed = ns + ":webhooks:failed";
  auto waiting = session.command({"XLEN", outbox});
  auto pending = session.command({"XPENDING", outbox, "webhooks"});
  auto total_failed = session.command({"XLEN", failed});
  auto rows = session.command({"XREVRANGE", failed, "+", "-", "COUNT", std::to_string(f.limit)});
  long long in_delivery = 0;
  if (pending.is_array() && !pending.elements.empty()) in_delivery = pending.elements[0].as_integer().value_or(0);
  nlohmann::json list = nlohmann::json::array();
  for (const auto& e : rows.elements) {
    if (!e.is_array() || e.elements.size() < 2) continue;
    auto m = e.elements[1].as_map();
    list.push_back({{"failed_entry", e.elements[0].as_string().value_or("")},
                    {"webhook", m["webhook"]},
                    {"event", m["event"]},
                    {"job", m["id"]},
                    {"delivery", m["delivery"]},
                    {"attempts", m["attempts"]},
                    {"last_error", m["last_error"]},
                    {"failed_at", m["failed_at"]}});
  }
  if (f.json) {
    nlohmann::json out = {{"outbox", waiting.as_integer().value_or(0)},
                          {"in_delivery", in_delivery},
                          {"failed", total_failed.as_integer().value_or(0)},
                          {"failed_deliveries", list}};
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  std::cout << "outbox " << waiting.as_integer().value_or(0) << " (being delivered " << in_delivery
            << ")   failed " << total_failed.as_integer().value_or(0) << "\n";
  for (const auto& webhook : session.config().webhooks) {
    std::cout << "webhook " << webhook.first << "  " << webhook.second.url << "  events";
    for (const auto& e : webhook.second.events) std::cout << " " << e;
    std::cout << "\n";
  }
  if (list.empty()) {
    std::cout << "no failed deliveries\n";
    return;
  }
  std::cout << "\n" << std::left << std::setw(22) << "failed entry" << std::setw(14) << "webhook"
            << std::setw(17) << "event" << std::setw(24) << "job" << std::setw(9) << "attempts"
            << std::setw(22) << "failed at" << "last error\n";
  for (const auto& r : list) {
    std::cout << std::left << std::setw(22) << r["failed_entry"].get<std::string>() << std::setw(14)
              << r["webhook"].get<std::string>() << std::setw(17) << r["event"].get<std::string>()
              << std::setw(24) << r["job"].get<std::string>() << std::setw(9)
              << r["attempts"].get<std::string>() << std::setw(22)
              << format_ms(r["failed_at"].get<std::string>()) << r["last_error"].get<std::string>() << "\n";
  }
}

void run_retry(const GlobalOptions& g, const RetryFlags& f) {
  if (f.all == f.id.has_value()) {
    std::cerr << "iamq: webhooks retry: give one failed entry id or --all\n";
    throw CommandFailed(2);
  }
  QueueSession session(g);
  const std::string ns = session.config().ns;
  auto r = session.command({"EVAL", worker::outbox_lua::kRetry, "2", ns + ":outbox", ns + ":webhooks:failed",
                            f.all ? std::string() : *f.id});
  if (r.is_error()) throw std::runtime_error("webhooks retry: " + r.str);
  const long long n = r.as_integer().value_or(0);
  if (!f.all && n == 0) {
    std::cerr << "iamq: no failed delivery with entry id \"" << *f.id << "\" (see iamq webhooks list)\n";
    throw CommandFailed(1);
  }
  std::cout << n << " delivery(ies) back in the outbox; a running worker sends them\n";
}

}  // namespace

void add_webhooks_command(CLI::App& app, const GlobalOptions& g) {
  CLI::App* cmd = app.add_subcommand("webhooks", "Webhook deliveries: what failed, send again");
  cmd->require_subcommand(1);
  auto lf = std::make_shared<ListFlags>();
  CLI::App* list = cmd->add_subcommand("list", "Outbox size and failed deliveries, newest first");
  list->add_flag("--json", lf->json, "As JSON");
  list->add_option("--limit", lf->limit, "Failed deliveries shown (default 50)");
  list->callback([&g, lf] { run_list(g, *lf); });
  auto rf = std::make_shared<RetryFlags>();
  CLI::App* retry = cmd->add_subcommand("retry", "Put a failed delivery (or --all) back into the outbox");
  retry->add_option("id", rf->id, "The failed entry id from iamq webhooks list");
  retry->add_flag("--all", rf->all, "Every failed delivery");
  retry->callback([&g, rf] { run_retry(g, *rf); });
}

}  // namespace iamq::commands
