// `iamq dlq list [--json] [--limit N]`, `iamq dlq retry ID|--all`,
// `iamq dlq purge [--older-than DURATION]`: the dead-letter stream <ns>:dead.
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

namespace {

struct DlqFlags {
  bool json = false;
  std::size_t limit = 50;
  std::optional<std::string> id;
  bool all = false;
  std::optional<std::string> older_than;
};

void run_list(const GlobalOptions& g, const DlqFlags& f) {
  QueueSession session(g);
  using Entries = std::vector<std::map<std::string, std::string>>;
  auto entries = session.await<Entries>(
      "dlq list", [&](auto cb) { session.queue().dlq_list(f.limit, cb); });
  if (f.json) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& e : entries) {
      nlohmann::json j(e);
      auto job = nlohmann::json::parse(e["job"], nullptr, false);
      if (!job.is_discarded()) j["job"] = job;
      out.push_back(j);
    }
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  if (entries.empty()) {
    std::cout << "no dead letters\n";
    return;
  }
  std::cout << std::left << std::setw(22) << "dead since" << std::setw(36) << "job id"
            << std::setw(14) << "reason" << std::setw(9) << "attempts" << "error\n";
  for (auto& e : entries) {
    std::cout << std::left << std::setw(22) << format_ms(e["at"]) << std::setw(36)
              << (e["id"].empty() ? "(no id)" : e["id"]) << std::setw(14) << e["reason"]
              << std::setw(9) << e["attempts"] << e["error"] << "\n";
  }
}

void run_retry(const GlobalOptions& g, const DlqFlags& f) {
  if (f.all == f.id.has_value()) {
    std::cerr << "iamq dlq retry: give a job ID or --all\n";
    throw CommandFailed(2);
  }
  QueueSession session(g);
  if (f.id) {
    bool finished = false;
    std::error_code result;
    session.queue().dlq_retry(*f.id, [&](std::error_code ec) {
      finished = true;
      result = ec;
    });
    auto& ioc = session.io_context();
    ioc.restart();
    while (!finished && ioc.run_one() > 0) {
    }
    if (result == queue::Errc::not_found) {
      std::cerr << "iamq: job \"" << *f.id << "\" is not in the dead-letter stream\n";
      throw CommandFailed(1);
    }
    if (result == queue::Errc::refused) {
      std::cerr << "iamq: job \"" << *f.id
                << "\" was dead-lettered as invalid; fix it and enqueue it again\n";
      throw CommandFailed(1);
    }
    if (result) {
      session.await_done("dlq retry", [&](auto cb) { cb(result); });  // throws with the message
    }
    std::cout << *f.id << "\n";
    return;
  }
  struct Counts {
    std::size_t retried = 0;
    std::size_t skipped = 0;
  };
  auto c = session.await<Counts>("dlq retry --all", [&](auto cb) {
    session.queue().dlq_retry_all([cb](std::error_code ec, std::size_t r, std::size_t s) {
      cb(ec, Counts{r, s});
    });
  });
  std::cout << "retried " << c.retried << " job(s)";
  if (c.skipped) std::cout << "; skipped " << c.skipped << " invalid job(s) (fix and re-enqueue)";
  std::cout << "\n";
}

void run_purge(const GlobalOptions& g, const DlqFlags& f) {
  std::optional<std::chrono::milliseconds> age;
  if (f.older_than) {
    age = config::parse_duration(*f.older_than);
    if (!age) {
      std::cerr << "iamq: --older-than: \"" << *f.older_than
                << "\" is not a duration (e.g. 7d, 12h, 30m)\n";
      throw CommandFailed(2);
    }
  }
  QueueSession session(g);
  auto n = session.await<std::size_t>("dlq purge",
                                      [&](auto cb) { session.queue().dlq_purge(age, cb); });
  std::cout << "purged " << n << " dead letter(s)\n";
}

}  // namespace

void add_dlq_command(CLI::App& app, const GlobalOptions& g) {
  auto f = std::make_shared<DlqFlags>();
  CLI::App* cmd = app.add_subcommand("dlq", "Dead letters: list, retry, purge");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "List dead letters, newest first");
  list->add_flag("--json", f->json, "As JSON");
  list->add_option("--limit", f->limit, "At most N entries (default 50)")->check(CLI::PositiveNumber);
  list->callback([&g, f] { run_list(g, *f); });
  auto* retry = cmd->add_subcommand("retry", "Put a dead job (or all) back into the queue");
  retry->add_option("id", f->id, "Job id");
  retry->add_flag("--all", f->all, "Every dead letter whose job is valid");
  retry->callback([&g, f] { run_retry(g, *f); });
  auto* purge = cmd->add_subcommand("purge", "Delete dead letters (and their records)");
  purge->add_option("--older-than", f->older_than, "Only those older than DURATION (7d, 12h, 30m)");
  purge->callback([&g, f] { run_purge(g, *f); });
}

}  // namespace iamq::commands
