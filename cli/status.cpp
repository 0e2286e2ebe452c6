// `iamq status ID [--json]`: a job's record and its step log.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/queue_session.hpp"

namespace iamq::commands {

namespace {

struct StatusFlags {
  std::string id;
  bool json = false;
};

/// Record fields that hold JSON text and are shown as JSON in --json output.
bool is_json_field(const std::string& k) {
  return k == "job" || k == "result" || k == "checkpoint" || k == "children";
}

nlohmann::json parse_or_string(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  if (j.is_discarded()) return s;
  return j;
}

std::string field(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? std::string() : it->second;
}

std::string str(const nlohmann::json& j, const char* k) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

void print_human(const std::string& id, const queue::JobRecord& rec) {
  const auto& f = rec.fields;
  auto job = parse_or_string(field(f, "job"));
  auto row = [](const std::string& k, const std::string& v) {
    if (!v.empty()) std::cout << std::left << std::setw(14) << k << v << "\n";
  };
  row("job", id);
  row("status", field(f, "status"));
  row("type", field(f, "type"));
  row("account", field(f, "account"));
  row("user", field(f, "user_name"));
  if (job.is_object() && job.contains("serial_number")) row("serial", str(job, "serial_number"));
  std::string attempts = field(f, "attempts");
  if (!field(f, "max_attempts").empty() && field(f, "max_attempts") != "0") {
    attempts += " of " + field(f, "max_attempts");
  }
  row("attempts", attempts);
  // Deliveries (starts) apart from why the job came back: a reclaim after its worker stopped
  // renewing (max_reclaims bounds these), a resume from the delayed set, a hand-back.
  auto count = [&](const char* k) { return field(f, k).empty() ? std::string("0") : field(f, k); };
  if (!field(f, "deliveries").empty()) {
    row("deliveries", count("deliveries") + " (reclaims " + count("reclaims") + ", resumes " +
                          count("resumes") + ", hand-backs " + count("handbacks") + ")");
  }
  row("priority", field(f, "priority"));
  row("waits in", field(f, "where") == "done" ? std::string() : field(f, "where"));
  row("not before", format_ms(field(f, "not_before")));
  row("cancel", field(f, "cancel"));
  row("created", format_ms(field(f, "created_at")));
  row("started", format_ms(field(f, "started_at")));
  row("updated", format_ms(field(f, "updated_at")));
  row("next attempt", format_ms(field(f, "next_attempt_at")));
  row("finished", format_ms(field(f, "finished_at")));
  row("source", field(f, "source"));
  row("consumer", field(f, "consumer"));
  row("last error", field(f, "last_error"));
  row("reason", field(f, "reason"));
  row("error", field(f, "error"));
  if (job.is_object() && job.contains("meta")) row("meta", job["meta"].dump());
  auto result = parse_or_string(field(f, "result"));
  if (result.is_object() && result.contains("outcome")) row("outcome", str(result, "outcome"));
  if (!rec.children.empty()) {
    // A fan-out parent: one child per account, each a job of its own (iamq status CHILD).
    std::size_t ended = 0;
    for (const auto& [child, st] : rec.children) {
      ended += (st == "succeeded" || st == "failed" || st == "dead" || st == "cancelled") ? 1 : 0;
    }
    std::cout << "\nchildren (" << rec.children.size() << ", " << ended << " ended):\n";
    for (const auto& [child, st] : rec.children) {
      std::cout << "  " << std::left << std::setw(48) << child << st << "\n";
    }
    return;
  }
  if (rec.steps.empty()) {
    std::cout << "steps         (none recorded)\n";
    return;
  }
  std::cout << "\nsteps (" << rec.steps.size() << "):\n";
  std::cout << std::left << std::setw(5) << "#" << std::setw(34) << "action" << std::setw(8)
            << "result" << std::setw(6) << "http" << std::setw(30) << "code" << std::setw(8)
            << "attempt" << std::setw(9) << "ms" << "request id\n";
  std::size_t n = 0;
  for (const auto& s : rec.steps) {
    auto j = parse_or_string(s);
    ++n;
    if (!j.is_object()) {
      std::cout << std::setw(5) << n << s << "\n";
      continue;
    }
    std::string action = str(j, "action");
    if (j.value("dry_run", false)) action += " (dry run)";
    std::cout << std::left << std::setw(5) << n << std::setw(34) << action << std::setw(8)
              << str(j, "result") << std::setw(6) << str(j, "http_status") << std::setw(30)
              << str(j, "code") << std::setw(8) << str(j, "attempt") << std::setw(9)
              << str(j, "duration_ms") << str(j, "request_id") << "\n";
    std::string msg = str(j, "message");
    if (!msg.empty()) std::cout << "     " << msg << "\n";
  }
}

void run_status(const GlobalOptions& g, const StatusFlags& f) {
  QueueSession session(g);
  auto rec = session.await<std::optional<queue::JobRecord>>(
      "status", [&](auto cb) { session.queue().get_job(f.id, cb); });
  if (!rec) {
    std::cerr << "iamq: no job with id \"" << f.id << "\" in namespace " << session.config().ns
              << " (unknown, or expired after the retention time)\n";
    throw CommandFailed(1);
  }
  if (f.json) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, v] : rec->fields) {
      out[k] = is_json_field(k) ? parse_or_string(v) : nlohmann::json(v);
    }
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : rec->steps) steps.push_back(parse_or_string(s));
    out["steps"] = steps;
    if (!rec->children.empty()) out["children"] = rec->children;  // child id -> status
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  print_human(f.id, *rec);
}

}  // namespace

void add_status_command(CLI::App& app, const GlobalOptions& g) {
  auto f = std::make_shared<StatusFlags>();
  CLI::App* cmd = app.add_subcommand("status", "Show a job: status, attempts, step log, error");
  cmd->add_option("id", f->id, "Job id")->required();
  cmd->add_flag("--json", f->json, "The record and step log as JSON");
  cmd->callback([&g, f] { run_status(g, *f); });
}

}  // namespace iamq::commands
