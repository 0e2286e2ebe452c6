// `iamq enqueue`: adds jobs to the queue, one id per job on stdout.
//   iamq enqueue offboard-user --user NAME [--id ID] [--account A] [--meta k=v]… [--keep-user]
//   iamq enqueue deactivate-mfa --user NAME [--serial SERIAL] [--delete-virtual] …
//   iamq enqueue delete-user --user NAME …
//   iamq enqueue --file jobs.jsonl|- [--strict]
// Every job is validated exactly as a worker validates it (worker/job.cpp).
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "worker/commands/commands.hpp"
#include "worker/commands/queue_session.hpp"
#include "worker/job.hpp"

namespace iamq::commands {

namespace {

/// Flags of the typed subcommands (one set per subcommand).
struct JobFlags {
  std::string type;
  std::string user;
  std::optional<std::string> id;
  std::optional<std::string> account;
  std::vector<std::string> meta;
  std::optional<std::string> serial;
  bool keep_user = false;
  bool delete_virtual = false;
  bool dry_run = false;
  std::optional<int> max_attempts;
};

struct FileFlags {
  std::optional<std::string> file;
  bool strict = false;
};

/// One line of input that passed validation.
struct Accepted {
  std::size_t line = 0;
  queue::JobSummary job;
};

void print_results(const std::vector<Accepted>& jobs, const std::vector<queue::EnqueueResult>& res,
                   bool with_lines) {
  for (std::size_t i = 0; i < res.size(); ++i) {
    std::cout << res[i].id << "\n";
    if (!res[i].created) {
      std::cerr << (with_lines ? "line " + std::to_string(jobs[i].line) + ": " : std::string())
                << "job " << res[i].id << " already exists (status " << res[i].status
                << "); not enqueued again\n";
    }
  }
  std::cout.flush();
}

void enqueue_all(const GlobalOptions& g, std::vector<Accepted>& jobs, bool with_lines) {
  QueueSession session(g);
  // Chunks keep memory bounded for big files; within a chunk the batches are pipelined.
  constexpr std::size_t chunk = 20000;
  for (std::size_t start = 0; start < jobs.size(); start += chunk) {
    std::size_t end = std::min(jobs.size(), start + chunk);
    std::vector<queue::JobSummary> batch;
    batch.reserve(end - start);
    for (std::size_t i = start; i < end; ++i) batch.push_back(jobs[i].job);
    auto res = session.await<std::vector<queue::EnqueueResult>>("enqueue", [&](auto cb) {
      session.queue().enqueue(std::move(batch), cb);
    });
    std::vector<Accepted> part(jobs.begin() + static_cast<long>(start),
                               jobs.begin() + static_cast<long>(end));
    print_results(part, res, with_lines);
  }
}

void run_typed(const GlobalOptions& g, const JobFlags& f) {
  nlohmann::json j = {{"type", f.type}, {"user_name", f.user}};
  if (f.id) j["id"] = *f.id;
  if (f.account) j["account"] = *f.account;
  if (f.serial) j["serial_number"] = *f.serial;
  if (f.keep_user) j["keep_user"] = true;
  if (f.delete_virtual) j["delete_virtual"] = true;
  if (f.dry_run) j["dry_run"] = true;
  if (f.max_attempts) j["max_attempts"] = *f.max_attempts;
  if (!f.meta.empty()) {
    nlohmann::json meta = nlohmann::json::object();
    for (const auto& kv : f.meta) {
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "iamq: --meta: expected KEY=VALUE, got \"" << kv << "\"\n";
        throw CommandFailed(2);
      }
      meta[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    j["meta"] = meta;
  }
  std::string text = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  auto parsed = worker::parse_job(text);
  if (auto* e = std::get_if<worker::JobError>(&parsed)) {
    std::cerr << "iamq: " << e->message << "\n";
    throw CommandFailed(1);
  }
  auto& job = std::get<worker::Job>(parsed);
  if (job.id.empty()) job.id = worker::generate_job_id();
  std::vector<Accepted> jobs{{1, worker::summarize(job)}};
  enqueue_all(g, jobs, false);
}

void run_file(const GlobalOptions& g, const FileFlags& f) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (*f.file != "-") {
    file.open(*f.file);
    if (!file) {
      std::cerr << "iamq: cannot open " << *f.file << "\n";
      throw CommandFailed(2);
    }
    in = &file;
  }
  std::vector<Accepted> jobs;
  std::size_t refused = 0;
  std::string line;
  std::size_t n = 0;
  while (std::getline(*in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    auto parsed = worker::parse_job(line);
    if (auto* e = std::get_if<worker::JobError>(&parsed)) {
      std::cerr << "line " << n << ": " << e->message << "\n";
      ++refused;
      continue;
    }
    auto& job = std::get<worker::Job>(parsed);
    if (job.id.empty()) job.id = worker::generate_job_id();
    jobs.push_back({n, worker::summarize(job)});
  }
  if (refused > 0 && f.strict) {
    std::cerr << "iamq: " << refused << " line(s) refused; --strict: nothing enqueued\n";
    throw CommandFailed(1);
  }
  if (!jobs.empty()) enqueue_all(g, jobs, true);
  if (refused > 0) {
    std::cerr << "iamq: " << refused << " line(s) refused, " << jobs.size() << " enqueued\n";
    throw CommandFailed(1);
  }
}

CLI::App* add_typed(CLI::App* parent, const GlobalOptions& g, const std::string& name,
                    const std::string& type, const std::string& help) {
  auto f = std::make_shared<JobFlags>();
  f->type = type;
  CLI::App* cmd = parent->add_subcommand(name, help);
  cmd->add_option("--user", f->user, "IAM user name")->required();
  cmd->add_option("--id", f->id, "Job id (default: generated); an existing id is not added again");
  cmd->add_option("--account", f->account, "Account name from the config (default: default)");
  cmd->add_option("--meta", f->meta, "KEY=VALUE echoed into the result (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_flag("--dry-run", f->dry_run, "Only read; record the calls that would be made");
  cmd->add_option("--max-attempts", f->max_attempts, "Attempts before the job fails (1-100)");
  if (type == "offboard_user") {
    cmd->add_flag("--keep-user", f->keep_user,
                  "Disable instead of delete: MFA, login profile, access keys inactive");
  }
  if (type == "deactivate_mfa") {
    cmd->add_option("--serial", f->serial, "MFA device serial number or ARN (default: all)");
    cmd->add_flag("--delete-virtual", f->delete_virtual, "Delete virtual devices afterwards");
  }
  cmd->callback([&g, f] { run_typed(g, *f); });
  return cmd;
}

}  // namespace

void add_enqueue_command(CLI::App& app, const GlobalOptions& g) {
  auto ff = std::make_shared<FileFlags>();
  CLI::App* cmd = app.add_subcommand(
      "enqueue", "Add jobs to the queue; prints one job id per line");
  cmd->require_subcommand(0, 1);
  auto* file_opt = cmd->add_option("--file", ff->file,
                                   "JSON lines file, one job a line ('-' for stdin)");
  cmd->add_flag("--strict", ff->strict, "With --file: enqueue nothing if any line is refused")
      ->needs(file_opt);
  auto* a = add_typed(cmd, g, "offboard-user", "offboard_user",
                      "Remove every credential and attachment of a user, then delete it");
  auto* b = add_typed(cmd, g, "deactivate-mfa", "deactivate_mfa",
                      "Deactivate one MFA device of a user, or all of them");
  auto* c = add_typed(cmd, g, "delete-user", "delete_user", "Delete a user (as offboard-user)");
  for (auto* sub : {a, b, c}) sub->excludes(file_opt);
  cmd->callback([&g, ff, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // a typed subcommand ran
    if (!ff->file) {
      std::cerr << "iamq enqueue: give a job type (offboard-user, deactivate-mfa, delete-user) "
                   "or --file FILE\n";
      throw CommandFailed(2);
    }
    run_file(g, *ff);
  });
}

}  // namespace iamq::commands
