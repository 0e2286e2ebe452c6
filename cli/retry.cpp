// `iamq retry ID`: a failed or dead job goes back into its lane and resumes where it stopped
// (its checkpoint), with fresh retry budgets. `iamq dlq retry` (start over) keeps working.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

void add_retry_command(CLI::App& app, const GlobalOptions& g) {
  auto id = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("retry", "resume a failed or dead job where it stopped");
  cmd->add_option("ID", *id, "the job id")->required();
  cmd->callback([&g, id] {
    QueueSession session(g);
    bool finished = false;
    std::error_code result;
    std::string why;
    session.queue().retry(*id, [&](std::error_code ec, std::string w) {
      finished = true;
      result = ec;
      why = std::move(w);
    });
    auto& ioc = session.io_context();
    ioc.restart();
    while (!finished && ioc.run_one() > 0) {
    }
    if (result == queue::Errc::not_found) {
      std::cerr << "iamq: no job \"" << *id << "\"\n";
      throw CommandFailed(1);
    }
    if (result == queue::Errc::refused) {
      if (why == "invalid") {
        std::cerr << "iamq: job \"" << *id
                  << "\" was dead-lettered as invalid; fix it and enqueue it again\n";
      } else {
        std::cerr << "iamq: job \"" << *id << "\" is " << why
                  << "; only failed or dead jobs can be retried\n";
      }
      throw CommandFailed(1);
    }
    if (result) {
      std::cerr << "iamq: retry: " << result.message() << "\n";
      throw CommandFailed(1);
    }
    std::cout << *id << ": queued; resumes where it stopped\n";
  });
}

}  // namespace iamq::commands
