// `iamq cancel ID [--reason TEXT]`: a waiting job (queued, delayed, scheduled) ends
// `cancelled` with no IAM call; a running job stops before its next call and ends
// `cancelled`, its record keeping the calls made so far.
#include <iostream>
#include <memory>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

void add_cancel_command(CLI::App& app, const GlobalOptions& g) {
  struct Flags {
    std::string id;
    std::string reason;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("cancel", "cancel a job (waiting: at once; running: before its next call)");
  cmd->add_option("ID", f->id, "the job id")->required();
  cmd->add_option("--reason", f->reason, "why (kept in the record and the events stream)");
  cmd->callback([&g, f] {
    QueueSession session(g);
    bool finished = false;
    std::error_code result;
    queue::CancelOutcome outcome = queue::CancelOutcome::final;
    std::string status;
    session.queue().cancel(f->id, f->reason,
                           [&](std::error_code ec, queue::CancelOutcome o, std::string st) {
                             finished = true;
                             result = ec;
                             outcome = o;
                             status = std::move(st);
                           });
    auto& ioc = session.io_context();
    ioc.restart();
    while (!finished && ioc.run_one() > 0) {
    }
    if (result == queue::Errc::not_found) {
      std::cerr << "iamq: no job \"" << f->id << "\"\n";
      throw CommandFailed(1);
    }
    if (result) {
      std::cerr << "iamq: cancel: " << result.message() << "\n";
      throw CommandFailed(1);
    }
    switch (outcome) {
      case queue::CancelOutcome::cancelled:
        std::cout << f->id << ": cancelled (no IAM call made)\n";
        return;
      case queue::CancelOutcome::requested:
        std::cout << f->id << ": running; it stops before its next call and ends cancelled\n";
        return;
      case queue::CancelOutcome::final:
        std::cerr << "iamq: job \"" << f->id << "\" already ended " << status << "\n";
        throw CommandFailed(1);
    }
  });
}

}  // namespace iamq::commands
