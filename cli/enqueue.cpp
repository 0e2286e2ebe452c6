// `iamq enqueue`: adds jobs to the queue, one id per job on stdout.
//   iamq enqueue offboard-user --user NAME [--id ID] [--account A] [--meta k=v]… [--keep-user]
//   iamq enqueue deactivate-mfa --user NAME [--serial SERIAL] [--delete-virtual] …
//   iamq enqueue delete-user --user NAME …
//   iamq enqueue --file jobs.jsonl|- [--strict]
// Every job is validated exactly as a worker validates it (worker/job.cpp). --file streams:
// batches go to Redis while the next lines are read (except --strict, which validates all
// first), and ids come out in input order.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "worker/rfc3339.hpp"
#include "cli/queue_session.hpp"
#include "worker/job.hpp"
#include "worker/job_validator.hpp"

namespace iamq::commands {

namespace {

/// Flags of the typed subcommands (one set per subcommand).
struct JobFlags {
  std::string type;
  std::string user;
  std::optional<std::string> id;
  std::optional<std::string> account;
  std::optional<std::string> accounts;  ///< fan-out: "a,b,c" or "*"
  std::vector<std::string> meta;
  std::optional<std::string> serial;
  bool keep_user = false;
  bool delete_virtual = false;
  std::optional<std::string> account_id;  ///< deactivate_root_mfa
  bool delete_root_credentials = false;   ///< deactivate_root_mfa
  bool dry_run = false;
  std::optional<int> max_attempts;
  std::optional<std::string> priority;
  std::optional<std::string> not_before;
  std::optional<std::string> notify;
};

struct FileFlags {
  std::optional<std::string> file;
  bool strict = false;
};

/// A producer whose config defines webhooks checks `notify` against them; one without
/// any only checks the name's syntax and leaves the check to the worker, which has the
/// config (a job naming an unknown webhook is dead-lettered there with the reason).
std::optional<worker::JobError> notify_problem(const config::Config& cfg, const worker::Job& job) {
  if (cfg.webhooks.empty()) return std::nullopt;
  std::set<std::string> names;
  for (const auto& [name, w] : cfg.webhooks) names.insert(name);
  return worker::check_notify(job, names);
}

/// One line of input that passed validation.
struct Accepted {
  std::size_t line = 0;
  queue::JobSummary job;
};

/// Sends validated jobs as they come, in batches of JobQueue::Options::enqueue_batch (one
/// atomic script call each), with up to `max_in_flight` batches pipelined, so reading and
/// validating the next lines overlaps Redis's work on the previous ones. Prints one id per
/// job in input order as the batches complete; memory stays bounded for any file size.
class Enqueuer {
 public:
  Enqueuer(QueueSession& session, bool with_lines)
      : session_(session),
        with_lines_(with_lines),
        batch_(std::max<std::size_t>(1, session.queue().options().enqueue_batch)) {
    out_.reserve(out_flush_at + 4096);
  }

  void add(std::size_t line, queue::JobSummary job) {
    if (!cur_) {
      cur_ = std::make_shared<Batch>();
      cur_->lines.reserve(batch_);
      cur_->jobs.reserve(batch_);
    }
    cur_->lines.push_back(line);
    cur_->jobs.push_back(std::move(job));
    if (cur_->jobs.size() >= batch_) send();
  }

  /// Sends what is left and waits for every batch; throws on the first failed batch.
  void finish() {
    send();
    while (!pending_.empty()) pump(true);
    write_out();
  }

 private:
  static constexpr std::size_t max_in_flight = 16;
  static constexpr std::size_t out_flush_at = 64 * 1024;

  struct Batch {
    std::vector<std::size_t> lines;
    std::vector<queue::JobSummary> jobs;
    bool done = false;
    std::error_code ec;
    std::vector<queue::EnqueueResult> results;
  };

  void send() {
    if (!cur_ || cur_->jobs.empty()) return;
    auto b = std::move(cur_);
    pending_.push_back(b);
    session_.queue().enqueue(std::move(b->jobs),
                             [b](std::error_code ec, std::vector<queue::EnqueueResult> r) {
                               b->done = true;
                               b->ec = ec;
                               b->results = std::move(r);
                             });
    pump(false);  // write it out and take in whatever replies are there
    while (pending_.size() > max_in_flight) pump(true);
  }

  /// Runs ready handlers (block: at least one), then prints finished batches in order.
  void pump(bool block) {
    auto& ioc = session_.io_context();
    if (ioc.stopped()) ioc.restart();
    if (block) {
      if (ioc.run_one() == 0) {
        write_out();
        throw std::runtime_error("internal error: Redis call did not complete");
      }
    } else {
      ioc.poll();
    }
    while (!pending_.empty() && pending_.front()->done) {
      auto b = std::move(pending_.front());
      pending_.pop_front();
      if (b->ec) fail(b->ec);
      print(*b);
    }
  }

  void print(const Batch& b) {
    for (std::size_t i = 0; i < b.results.size(); ++i) {
      const auto& r = b.results[i];
      out_ += r.id;
      out_ += '\n';
      if (!r.created) {
        write_out();  // ids before the message about them
        std::cerr << (with_lines_ ? "line " + std::to_string(b.lines[i]) + ": " : std::string())
                  << "job " << r.id << " already exists (status " << r.status
                  << "); not enqueued again\n";
      }
    }
    if (out_.size() >= out_flush_at) write_out();
  }

  void write_out() {
    if (out_.empty()) return;
    std::cout.write(out_.data(), static_cast<std::streamsize>(out_.size()));
    std::cout.flush();
    out_.clear();
  }

  [[noreturn]] void fail(std::error_code ec) {
    write_out();  // the ids of the batches that were enqueued before
    if (ec == queue::Errc::not_connected || ec == queue::Errc::connect_failed) {
      throw RuntimeFailure("cannot reach Redis: " + session_.connection().last_error());
    }
    throw RuntimeFailure("enqueue: " + ec.message());
  }

  QueueSession& session_;
  bool with_lines_;
  std::size_t batch_;
  std::shared_ptr<Batch> cur_;
  std::deque<std::shared_ptr<Batch>> pending_;
  std::string out_;
};

/// Reads lines in large blocks (std::getline on std::cin goes through stdio a character at a
/// time). Like std::getline: '\n' ends a line, a last line without one still counts.
class LineReader {
 public:
  explicit LineReader(std::FILE* f) : f_(f), buf_(1 << 20) {}

  bool next(std::string& line) {
    line.clear();
    for (;;) {
      if (pos_ < len_) {
        const char* start = buf_.data() + pos_;
        const auto* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
        if (nl != nullptr) {
          line.append(start, static_cast<std::size_t>(nl - start));
          pos_ += static_cast<std::size_t>(nl - start) + 1;
          return true;
        }
        line.append(start, len_ - pos_);
        pos_ = len_;
      }
      if (eof_) return !line.empty();
      len_ = std::fread(buf_.data(), 1, buf_.size(), f_);
      pos_ = 0;
      if (len_ == 0) {
        eof_ = true;
        error_ = std::ferror(f_) != 0;
        if (error_) return false;
      }
    }
  }

  bool error() const { return error_; }

 private:
  std::FILE* f_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
  bool eof_ = false;
  bool error_ = false;
};

void run_typed(const GlobalOptions& g, const JobFlags& f) {
  nlohmann::json j = {{"type", f.type}};
  if (f.type == "deactivate_root_mfa") {
    if (f.account_id) j["account_id"] = *f.account_id;
    if (f.delete_root_credentials) j["delete_root_credentials"] = true;
  } else {
    j["user_name"] = f.user;
  }
  if (f.id) j["id"] = *f.id;
  if (f.account) j["account"] = *f.account;
  if (f.accounts) {
    if (*f.accounts == "*") {
      j["accounts"] = "*";
    } else {
      nlohmann::json list = nlohmann::json::array();
      std::size_t p = 0;
      const std::string& s = *f.accounts;
      while (p <= s.size()) {
        const auto q = std::min(s.find(',', p), s.size());
        list.push_back(s.substr(p, q - p));  // an empty name is refused by the job's rules
        p = q + 1;
      }
      j["accounts"] = list;
    }
  }
  if (f.serial) j["serial_number"] = *f.serial;
  if (f.keep_user) j["keep_user"] = true;
  if (f.delete_virtual) j["delete_virtual"] = true;
  if (f.dry_run) j["dry_run"] = true;
  if (f.max_attempts) j["max_attempts"] = *f.max_attempts;
  if (f.priority) j["priority"] = *f.priority;
  if (f.not_before) j["not_before"] = *f.not_before;
  if (f.notify) j["notify"] = *f.notify;
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
  QueueSession session(g);
  if (auto e = notify_problem(session.config(), job)) {
    std::cerr << "iamq: " << e->message << "\n";
    throw CommandFailed(1);
  }
  Enqueuer enq(session, false);
  enq.add(1, worker::summarize(job));
  enq.finish();
}

void run_file(const GlobalOptions& g, const FileFlags& f) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> owned(nullptr, &std::fclose);
  std::FILE* in = stdin;
  if (*f.file != "-") {
    owned.reset(std::fopen(f.file->c_str(), "rb"));
    if (!owned) {
      std::cerr << "iamq: cannot open " << *f.file << "\n";
      throw CommandFailed(2);
    }
    in = owned.get();
  }
  LineReader reader(in);
  const config::Config cfg = resolve_config(g);
  // --strict reads and validates the whole input before enqueueing anything; otherwise each
  // batch goes out as soon as it is full (connecting only once there is a job to send).
  std::unique_ptr<QueueSession> session;
  std::unique_ptr<Enqueuer> enq;
  std::vector<Accepted> held;
  std::size_t accepted = 0;
  std::size_t refused = 0;
  std::string line;
  std::size_t n = 0;
  while (reader.next(line)) {
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
    if (auto ne = notify_problem(cfg, job)) {
      std::cerr << "line " << n << ": " << ne->message << "\n";
      ++refused;
      continue;
    }
    if (job.id.empty()) job.id = worker::generate_job_id();
    ++accepted;
    if (f.strict) {
      held.push_back({n, worker::summarize(job)});
      continue;
    }
    if (!enq) {
      session = std::make_unique<QueueSession>(g);
      enq = std::make_unique<Enqueuer>(*session, true);
    }
    enq->add(n, worker::summarize(job));
  }
  if (reader.error()) {
    std::cerr << "iamq: cannot read " << (*f.file == "-" ? std::string("stdin") : *f.file) << "\n";
    throw CommandFailed(2);
  }
  if (refused > 0 && f.strict) {
    std::cerr << "iamq: " << refused << " line(s) refused; --strict: nothing enqueued\n";
    throw CommandFailed(1);
  }
  if (!held.empty()) {
    session = std::make_unique<QueueSession>(g);
    enq = std::make_unique<Enqueuer>(*session, true);
    for (auto& a : held) enq->add(a.line, std::move(a.job));
  }
  if (enq) enq->finish();
  if (refused > 0) {
    std::cerr << "iamq: " << refused << " line(s) refused, " << accepted << " enqueued\n";
    throw CommandFailed(1);
  }
}

CLI::App* add_typed(CLI::App* parent, const GlobalOptions& g, const std::string& name,
                    const std::string& type, const std::string& help) {
  auto f = std::make_shared<JobFlags>();
  f->type = type;
  CLI::App* cmd = parent->add_subcommand(name, help);
  const bool root = type == "deactivate_root_mfa";
  if (root) {
    cmd->add_option("--account-id", f->account_id, "The member account whose root user (12 digits)")->required();
    cmd->add_flag("--delete-root-credentials", f->delete_root_credentials,
                  "Also delete the root user's password, access keys and signing certificates");
  } else {
    cmd->add_option("--user", f->user, "IAM user name")->required();
  }
  cmd->add_option("--id", f->id, "Job id (default: generated); an existing id is not added again");
  auto* one = cmd->add_option("--account", f->account,
                              root ? "The management account's name in the config, which calls sts:AssumeRoot "
                                     "(default: default)"
                                   : "Account name from the config (default: default)");
  if (!root) {
    cmd->add_option("--accounts", f->accounts,
                    "Fan out: one child job per account, A,B,C or '*' (every configured account)")
        ->excludes(one);
  }
  cmd->add_option("--meta", f->meta, "KEY=VALUE echoed into the result (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_flag("--dry-run", f->dry_run, "Only read; record the calls that would be made");
  cmd->add_option("--max-attempts", f->max_attempts, "Attempts before the job fails (1-100)");
  cmd->add_option("--priority", f->priority, "urgent | normal (default) | bulk")
      ->check(CLI::IsMember({"urgent", "normal", "bulk"}));
  cmd->add_option("--not-before", f->not_before,
                  "No call before this RFC 3339 UTC time (e.g. 2026-12-01T09:00:00Z)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return worker::parse_rfc3339_utc(v) ? std::string()
                                                : "must be an RFC 3339 UTC time such as 2026-12-01T09:00:00Z";
          },
          "RFC3339-UTC"));
  cmd->add_option("--notify", f->notify, "A [webhooks.NAME] of the config to tell about the outcome");
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
  CLI::App* cmd =
      app.add_subcommand("enqueue", "Add jobs to the queue; prints one job id per line");
  cmd->require_subcommand(0, 1);
  auto* file_opt =
      cmd->add_option("--file", ff->file, "JSON lines file, one job a line ('-' for stdin)");
  cmd->add_flag("--strict", ff->strict, "With --file: enqueue nothing if any line is refused")
      ->needs(file_opt);
  auto* a = add_typed(cmd, g, "offboard-user", "offboard_user",
                      "Remove every credential and attachment of a user, then delete it");
  auto* b = add_typed(cmd, g, "deactivate-mfa", "deactivate_mfa",
                      "Deactivate one MFA device of a user, or all of them");
  auto* c = add_typed(cmd, g, "delete-user", "delete_user", "Delete a user (as offboard-user)");
  auto* d = add_typed(cmd, g, "deactivate-root-mfa", "deactivate_root_mfa",
                      "Deactivate the MFA devices of a member account's root user (sts:AssumeRoot)");
  for (auto* sub : {a, b, c, d}) sub->excludes(file_opt);
  cmd->callback([&g, ff, cmd] {
    if (!cmd->get_subcommands().empty()) return;  // a typed subcommand ran
    if (!ff->file) {
      std::cerr << "iamq enqueue: give a job type (offboard-user, deactivate-mfa, delete-user, "
                   "deactivate-root-mfa) "
                   "or --file FILE\n";
      throw CommandFailed(2);
    }
    run_file(g, *ff);
  });
}

}  // namespace iamq::commands
