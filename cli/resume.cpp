// `iamq resume [--account A]`: lifts `iamq pause` for the account (or the pause of every
// account); its jobs start again from their lanes.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

void add_resume_command(CLI::App& app, const GlobalOptions& g) {
  auto account = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("resume", "lift a pause of one account (or of every account)");
  cmd->add_option("--account", *account, "the account (default: the pause of every account)");
  cmd->callback([&g, account] {
    QueueSession session(g);
    const bool changed =
        session.await<bool>("resume", [&](auto cb) { session.queue().resume(*account, cb); });
    const std::string what = account->empty() ? "every account" : "account " + *account;
    std::cout << what << (changed ? " resumed" : " was not paused") << "\n";
  });
}

}  // namespace iamq::commands
