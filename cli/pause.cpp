// `iamq pause [--account A] [--reason TEXT]`: no new job of the account (or of every account)
// starts; calls in flight finish and their jobs go back to their lanes; jobs wait there.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

void add_pause_command(CLI::App& app, const GlobalOptions& g) {
  struct Flags {
    std::string account;
    std::string reason;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("pause", "stop starting jobs of one account (or of every account)");
  cmd->add_option("--account", f->account, "the account (default: every account)");
  cmd->add_option("--reason", f->reason, "why (shown in stats, watch and the events stream)");
  cmd->callback([&g, f] {
    QueueSession session(g);
    const bool changed = session.await<bool>(
        "pause", [&](auto cb) { session.queue().pause(f->account, f->reason, cb); });
    const std::string what = f->account.empty() ? "every account" : "account " + f->account;
    std::cout << what << (changed ? " paused" : " was already paused") << "\n";
  });
}

}  // namespace iamq::commands
