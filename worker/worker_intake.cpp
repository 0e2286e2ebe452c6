// The worker's shell, part 3: the intake (routing <ns>:jobs into lanes) and starting jobs
// from the lanes through each account's gate (worker/account_gate.hpp decides how many).
#include <algorithm>
#include <map>
#include <utility>
#include <variant>

#include "worker/redaction.hpp"
#include "worker/root_session_provider.hpp"
#include "worker/worker_impl.hpp"

namespace iamq::worker {

namespace {

constexpr milliseconds kIntakePoll{100};   // an empty intake is read again after this
constexpr milliseconds kRedisRetry{500};   // after a failed read or route
constexpr std::size_t kIntakeBatch = 200;  // entries per read and per route script

}  // namespace

// ---------------------------------------------------------------------------------------
// Intake: every entry of <ns>:jobs is validated here and routed into its lane by one script.
// Reading takes no ownership (XREAD, no group), so a worker that dies or stops reading holds
// nothing, and an entry whose routing failed is simply routed again.

void Worker::Impl::read_intake() {
  if (stopping || reading || routing || !organization_ready) return;
  reading = true;
  queue->read_intake(intake_cursor, kIntakeBatch,
                     [w = weak_from_this()](std::error_code ec, queue::JobQueue::IntakeRead r) {
                       if (auto self = w.lock()) self->on_intake(ec, std::move(r));
                     });
}

void Worker::Impl::on_intake(std::error_code ec, queue::JobQueue::IntakeRead read) {
  reading = false;
  auto& entries = read.entries;
  auto& next = read.next;
  spdlog::debug("intake: read {} entries ({})", entries.size(), ec ? ec.message() : "ok");
  if (stopping) return maybe_finish_stop();
  if (ec) {
    if (!redis_error_logged) {
      spdlog::error("redis: reading {}:jobs failed: {}; consumption paused until Redis answers",
                    cfg.ns, ec.message());
      redis_error_logged = true;
    }
    metrics->redis_ok(false);
    read_retry_timer.expires_after(kRedisRetry);
    read_retry_timer.async_wait([w = weak_from_this()](std::error_code tec) {
      auto self = w.lock();
      if (self && !tec) self->read_intake();
    });
    return;
  }
  if (redis_error_logged) {
    spdlog::info("redis: reading {}:jobs again", cfg.ns);
    redis_error_logged = false;
  }
  metrics->redis_ok(true);
  if (read.refused > 0) {
    // Refused inside Redis by size alone (never read here); the record and dead letter say so.
    spdlog::warn("intake: {} entr{} larger than {} bytes dead-lettered without being read",
                 read.refused, read.refused == 1 ? "y" : "ies", max_job_size);
    for (std::size_t i = 0; i < read.refused; ++i) metrics->job_finished("invalid", "dead");
  }
  const bool any = std::any_of(entries.begin(), entries.end(), [](const auto& e) { return !e.claim; });
  if (!any) {
    const bool moved = next != intake_cursor;
    intake_cursor = std::move(next);
    if (moved) return read_intake();
    // Nothing new: read again shortly. (A blocking XREAD would hand this worker every entry,
    // oversized ones included, before any check could refuse them.)
    read_retry_timer.expires_after(kIntakePoll);
    read_retry_timer.async_wait([w = weak_from_this()](std::error_code tec) {
      auto self = w.lock();
      if (self && !tec) self->read_intake();
    });
    return;
  }
  route(std::move(entries), std::move(next));
}

void Worker::Impl::route(std::vector<queue::StreamEntry> entries, std::string next) {
  routing = true;
  queue->route(entries, [w = weak_from_this(), entries, next](std::error_code ec,
                                                               std::vector<queue::RouteResult> rs) mutable {
    auto self = w.lock();
    if (!self) return;
    if (ec) {
      // Redis refuses (OOM under noeviction, a failover…): reading pauses here — nothing was
      // taken, nothing needs handing back — and the same entries are routed again when it
      // answers. Logged once per outage, not per job.
      if (!self->route_error_logged) {
        spdlog::error("redis: routing {} intake entries failed: {}; reading paused until Redis "
                      "accepts writes again", entries.size(), ec.message());
        self->route_error_logged = true;
      }
      self->metrics->redis_ok(false);
      if (self->stopping) {
        self->routing = false;
        return self->maybe_finish_stop();
      }
      self->read_retry_timer.expires_after(kRedisRetry);
      self->read_retry_timer.async_wait([w, entries = std::move(entries), next](std::error_code tec) mutable {
        auto s = w.lock();
        if (!s || tec) return;
        if (s->stopping) {
          s->routing = false;
          return s->maybe_finish_stop();
        }
        s->route(std::move(entries), std::move(next));
      });
      return;
    }
    self->routing = false;
    if (self->route_error_logged) {
      spdlog::info("redis: routing intake entries again");
      self->route_error_logged = false;
      self->metrics->redis_ok(true);
    }
    using O = queue::RouteResult::Outcome;
    bool refresh = false;
    for (const auto& r : rs) {
      if (r.outcome == O::routed) {
        auto it = r.account.empty() ? self->accounts.end() : self->accounts.find(r.account);
        if (it != self->accounts.end()) {
          it->second->lanes_empty = false;
        } else {
          refresh = true;  // a fan-out's children: their accounts are in <ns>:ready
        }
      }
      if (r.outcome == O::dead) {
        spdlog::warn("job={} status=dead reason={}", r.id, quote_value(redact_text("invalid job: " + r.error)));
        self->metrics->job_finished("invalid", "dead");
      } else if (r.outcome == O::duplicate) {
        spdlog::info("job={} entry={} status=duplicate note=\"another entry carries this id; dropped\"",
                     r.id, r.entry_id);
      } else if (r.outcome == O::scheduled) {
        spdlog::info("job={} status=queued note=\"not_before in the future: waits in the delayed set\"", r.id);
      }
    }
    self->intake_cursor = std::move(next);
    if (self->stopping) return self->maybe_finish_stop();
    if (refresh) self->refresh_ready();
    self->fill();
    self->read_intake();
  });
}

// ---------------------------------------------------------------------------------------
// Starting jobs: one claim script takes jobs from the lanes of the accounts whose gate is
// open, round-robin, at most as many as there are free slots.

std::size_t Worker::Impl::free_slots() const {
  const auto cap = static_cast<std::size_t>(opts.concurrency);
  return runs.size() >= cap ? 0 : cap - runs.size();
}

void Worker::Impl::fill() {
  if (stopping || !group_ready || claiming) return;
  const std::size_t free = free_slots();
  if (free == 0 || account_order.empty()) return;
  // The jobs each account runs here; one in a retry wait uses no token and is not counted.
  ++fill_gen;
  for (const auto& [id, run] : runs) {
    AccountState& a = *run->account;
    if (a.busy_gen != fill_gen) {
      a.busy_gen = fill_gen;
      a.busy = 0;
    }
    if (run->fsm->state() != JobRun::State::retry_waiting) ++a.busy;
  }
  // Round-robin from rr over the accounts that may have work, asking each gate; enough of
  // them to fill every free slot even if some lanes turn out empty, not every account (the
  // cost of a start must not grow with the accounts configured).
  const std::size_t want = 2 * free + 8;
  std::vector<std::pair<std::size_t, AccountState*>> open;  // (busy, account)
  std::map<std::string, AccountGate::Grant> given;
  const std::size_t n = account_order.size();
  for (std::size_t i = 0; i < n && open.size() < want; ++i) {
    AccountState& acct = *account_order[(rr + i) % n];
    if (acct.lanes_empty) continue;
    acct.gate.set_busy(acct.busy_gen == fill_gen ? acct.busy : 0);
    auto g = acct.gate.grant(free);
    if (g.jobs == 0) continue;
    open.emplace_back(acct.gate.busy(), &acct);
    given[acct.name] = g;
  }
  rr = (rr + 1) % n;
  if (open.empty()) return;
  // Accounts with fewer jobs running first: claim.lua starts one job per account per pass in
  // this order, so a slot goes to an account that has none before a second job of another.
  std::stable_sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<queue::LaneGrant> grants;
  grants.reserve(open.size());
  for (const auto& [busy, acct] : open) grants.push_back({acct->name, given[acct->name].jobs});
  claiming = true;
  queue->start_jobs(grants, free, [w = weak_from_this(), given](std::error_code ec, queue::ClaimResult r) {
    if (auto self = w.lock()) self->on_claimed(ec, std::move(r), given);
  });
}

void Worker::Impl::on_claimed(std::error_code ec, queue::ClaimResult r,
                              std::map<std::string, AccountGate::Grant> grants) {
  claiming = false;
  std::map<std::string, std::size_t> started;
  for (const auto& c : r.started) ++started[c.account];
  for (auto& [name, g] : grants) accounts.at(name)->gate.on_claimed(g, started[name]);
  for (const auto& name : r.empty) {
    if (auto it = accounts.find(name); it != accounts.end()) {
      it->second->lanes_empty = true;
      some_lanes_empty = true;
    }
  }
  if (ec) {
    if (!claim_error_logged) {
      spdlog::error("redis: starting jobs from the lanes failed: {}; trying again", ec.message());
      claim_error_logged = true;
    }
    return maybe_finish_stop();
  }
  if (claim_error_logged) {
    spdlog::info("redis: starting jobs again");
    claim_error_logged = false;
  }
  const bool more = !r.started.empty();
  for (auto& c : r.started) {
    auto it = grants.find(c.account);
    const bool probe = it != grants.end() && it->second.probe;
    start_claim(std::move(c), probe);
  }
  if (stopping) return maybe_finish_stop();
  if (more) fill();
}

void Worker::Impl::refresh_ready() {
  if (stopping) return;
  if (ready_reading) {
    ready_again = true;
    return;
  }
  ready_reading = true;
  queue->ready_accounts(!ready_rebuilt, [w = weak_from_this()](std::error_code ec, std::vector<std::string> names) {
    auto self = w.lock();
    if (!self || self->finalized) return;
    self->ready_reading = false;
    if (!ec) {
      // Redis's answer at the moment it ran: later claims' and routes' answers come after it
      // on the same connection, so no newer mark is overwritten.
      self->ready_rebuilt = true;
      for (auto& [name, acct] : self->accounts) acct->lanes_empty = true;
      for (const auto& name : names) {
        if (auto it = self->accounts.find(name); it != self->accounts.end()) it->second->lanes_empty = false;
      }
      self->some_lanes_empty = names.size() < self->accounts.size();
    }
    if (self->ready_again) {
      self->ready_again = false;
      return self->refresh_ready();
    }
    self->fill();
  });
}

void Worker::Impl::start_claim(queue::Claim c, bool probe) {
  if (stopping) {
    // Claimed as the stop began: straight back to the front of its lane.
    ++moving;
    queue->requeue(c.id, c.entry_id, [w = weak_from_this()](std::error_code) {
      if (auto self = w.lock()) {
        --self->moving;
        self->maybe_finish_stop();
      }
    }, "shutdown");
    return;
  }
  auto parsed = parse_job(c.job_json);
  if (auto* err = std::get_if<JobError>(&parsed)) {
    return dead_letter(c.id, c.entry_id, nullptr, "invalid job: " + err->message, err->message);
  }
  Job job = std::get<Job>(std::move(parsed));
  if (job.id.empty()) job.id = c.id;
  auto acct_it = accounts.find(job.account);
  if (acct_it == accounts.end()) {
    const std::string msg = "account \"" + job.account + "\" is not configured";
    return dead_letter(c.id, c.entry_id, &job, msg, msg);
  }
  if (auto old = runs.find(c.id); old != runs.end()) {
    // A run of this id is still here although its claim was taken back (it stopped renewing
    // in time): it cannot move the job any more; the new claim is the job's only owner.
    log_job(spdlog::level::warn, *old->second, "abandoned",
            "note=\"claim taken back; the job was started again from its lane\"");
    old->second->fsm->resume(JobRun::Event::claim_lost());  // over: ignores every later event
    old->second->timer.cancel();
    runs.erase(old);
  }
  auto run = std::make_shared<Run>(ioc);
  run->id = c.id;
  run->entry_id = c.entry_id;
  run->account = acct_it->second.get();
  run->probe = probe;
  // The checkpoint restores the planner and the attempts of the call that was failing.
  run->fsm = std::make_unique<JobRun>(std::move(job), c.checkpoint, c.attempts, planner_opts, retry,
                                      queue->consumer());
  runs[run->id] = run;
  metrics->in_flight(runs.size());
  if (run->job().type == JobType::deactivate_root_mfa) {
    // This job's own session into the member's root user: asked for at its first call,
    // never cached in the account's providers and gone with the run. Without it the job
    // makes no call at all (issue_call answers its calls with the error).
    try {
      const config::Account& a = cfg.accounts.at(run->account->name);
      auto session = std::make_shared<RootSessionProvider>(credentials->sts(a.region), credentials->provider(a.name),
                                                           run->job().root_account_id);
      run->root_client = std::make_unique<client::IamClient>(*transport, iam_client_options(a), std::move(session));
    } catch (const std::exception& e) {
      run->root_error = redact_text(e.what());
    }
  }
  std::string extra = "attempt=" + std::to_string(c.attempts);
  if (!c.checkpoint.empty()) extra += " resumed=true";
  if (c.reclaims > 0) extra += " reclaims=" + std::to_string(c.reclaims);
  if (run->job().priority != "normal") extra += " priority=" + run->job().priority;
  if (probe) extra += " probe=true";
  if (probe) spdlog::info("account {}: probing the credentials with job {}", run->account->name, run->id);
  log_job(spdlog::level::info, *run, "running", extra);
  feed(run, JobRun::Event::started());
}

}  // namespace iamq::worker
