// The worker's shell, part 2: carrying out one job — its calls through the account's limiter
// (and the fleet limiter), retries, the step log, the end (finished, failed, cancelled, dead,
// handed back) — and the account circuits.
#include <algorithm>

#include "queue/error.hpp"
#include "worker/redaction.hpp"
#include "worker/step_record.hpp"
#include "worker/worker_impl.hpp"

namespace iamq::worker {

namespace {

constexpr milliseconds kRedisRetry{500};  // the fleet limiter unavailable: ask again

}  // namespace

std::string quote_value(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "\"";
}

std::string error_text(const client::IamError& e) {
  return redact_text(e.message.empty() ? e.code : e.code + ": " + e.message);
}


void Worker::Impl::run_next(const RunPtr& run) {
  if (run->abandoned) return;
  if (stopping) return hand_back(run, "shutdown");
  auto call = run->planner->next();
  if (!call) return finish_run(run);
  if (run->dry_run && call->mutating) {
    // Defence in depth: a dry run never sends a mutating call, whatever the planner says.
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "DryRunViolation";
    e.message = "refusing mutating call " + call->action + " in a dry run";
    return fail_run(run, e);
  }
  if (auto why = refuse_call(run->job, *call)) {
    client::IamError e;
    e.error_class = client::ErrorClass::terminal;
    e.code = "NotAllowed";
    e.message = *why;
    return fail_run(run, e);
  }
  run->call = std::move(*call);
  acquire(run);
}

void Worker::Impl::acquire(const RunPtr& run) {
  if (!fleet) return enter_line(run);
  AccountState& acct = *run->account;
  run->phase = Run::Phase::waiting;
  fleet->reserve(acct.name, [w = weak_from_this(), run](std::error_code ec,
                                                        std::chrono::microseconds fleet_wait) {
    auto self = w.lock();
    if (!self || run->abandoned) return;
    if (self->stopping) return self->hand_back(run, "shutdown");
    if (ec) {
      // Without the shared limiter we cannot know the fleet's rate: wait and ask again.
      spdlog::warn("job={} fleet limiter unavailable ({}); asking again", run->id, ec.message());
      run->timer.expires_after(kRedisRetry);
      run->timer.async_wait([w, run](std::error_code) {
        auto s = w.lock();
        if (!s || run->abandoned) return;
        if (s->stopping) return s->hand_back(run, "shutdown");
        s->acquire(run);
      });
      return;
    }
    self->metrics->limiter_wait(run->account->name, "fleet", fleet_wait);
    if (fleet_wait <= std::chrono::microseconds::zero()) return self->enter_line(run);
    run->timer.expires_after(fleet_wait);
    run->timer.async_wait([w, run](std::error_code) {
      auto s = w.lock();
      if (!s || run->abandoned) return;
      if (s->stopping) return s->hand_back(run, "shutdown");
      s->enter_line(run);
    });
  });
}

void Worker::Impl::enter_line(const RunPtr& run) {
  if (stopping) return hand_back(run, "shutdown");
  AccountState& acct = *run->account;
  run->phase = Run::Phase::waiting;
  run->queued_at = Clock::now();
  acct.waiting.push_back(run);
  update_waiting(acct);
  dispatch(acct);
}

// The account's token is taken at the moment a call is sent, never ahead of time. Reserving
// a token and then sleeping until it is due (what this did before) lets calls whose timers
// fire late — a busy loop, a descheduled process — go out together with the calls due at
// that moment: a one-second window of sends then holds more than rate + burst (seen: 378
// calls in one second at rate 300, burst 50). Counting tokens at send time bounds every
// window of sends by rate + burst, however late the wake-ups are.
void Worker::Impl::dispatch(AccountState& acct) {
  while (!acct.waiting.empty()) {
    RunPtr run = acct.waiting.front();
    if (run->abandoned) {
      acct.waiting.pop_front();
      continue;
    }
    if (stopping) {
      acct.waiting.pop_front();
      hand_back(run, "shutdown");
      continue;
    }
    if (!acct.gate.limiter().try_acquire()) break;
    acct.waiting.pop_front();
    metrics->limiter_wait(acct.name, "account", Clock::now() - run->queued_at);
    issue_call(run);
  }
  update_waiting(acct);
  if (acct.waiting.empty() || acct.send_timer_armed || finalized) return;
  acct.send_timer_armed = true;
  // At least a little: a token computed as due "now" may still be a rounding error short.
  const Clock::duration wait =
      std::max<Clock::duration>(acct.gate.limiter().time_until_available(), std::chrono::microseconds(200));
  acct.send_timer.expires_after(wait);
  acct.send_timer.async_wait([w = weak_from_this(), name = acct.name](std::error_code) {
    auto self = w.lock();
    if (!self || self->finalized) return;
    auto it = self->accounts.find(name);
    if (it == self->accounts.end()) return;
    it->second->send_timer_armed = false;
    self->dispatch(*it->second);
    self->fill();  // a token is back: the account's gate may open
  });
}

void Worker::Impl::update_waiting(AccountState& acct) {
  std::size_t n = 0;
  for (const auto& r : acct.waiting) n += r->abandoned ? 0 : 1;
  acct.gate.set_waiting_for_token(n);
}

void Worker::Impl::issue_call(const RunPtr& run) {
  if (run->abandoned) return;
  if (stopping) return hand_back(run, "shutdown");
  run->phase = Run::Phase::calling;
  ++run->calls;
  // One line per call sent (trace level): lets an operator line the worker's sending rate up
  // with the account's limit. Names only, never parameters.
  spdlog::trace("call job={} account={} action={}", run->id, run->account->name, run->call->action);
  client::IamClient& iam = run->root_client ? *run->root_client : *run->account->client;
  iam.call(run->call->action, run->call->params,
                             [w = weak_from_this(), run](std::error_code, client::Outcome outcome,
                                                         client::CallInfo info) {
                               if (auto self = w.lock()) self->on_call_done(run, std::move(outcome), info);
                             });
}

nlohmann::json Worker::Impl::checkpoint(const Run& run) const {
  nlohmann::json cp = {{"v", 1}, {"planner", run.planner->checkpoint()}};
  if (run.call_attempts > 0 && run.call) {
    cp["action"] = run.call->action;
    cp["call_attempts"] = run.call_attempts;
    cp["class_attempts"] = run.class_attempts;
  }
  return cp;
}

void Worker::Impl::on_call_done(const RunPtr& run, client::Outcome outcome, client::CallInfo info) {
  AccountState& acct = *run->account;
  const PlannedCall& call = *run->call;
  if (const auto verdict = acct.unsupported.observe(call.action, outcome); verdict.unsupported) {
    metrics->unsupported(acct.name, call.action);
    if (verdict.first) {
      spdlog::warn("account={} action={} the endpoint does not implement it ({} HTTP {}); {}", acct.name,
                   call.action, outcome.error->code, outcome.error->http_status,
                   call.mutating ? "jobs that need it fail" : "recorded unsupported, jobs go on");
    }
  }
  if (run->root_client && outcome.error && outcome.error->error_class == client::ErrorClass::credentials) {
    // The job's own AssumeRoot session could not be had (the target is no member, the
    // management account may not) or was refused: that fails this job; the management
    // account's circuit stays as it is (its own jobs are not affected).
    auto& e = *outcome.error;
    e.error_class = e.code == "AccessDenied" ? client::ErrorClass::denied : client::ErrorClass::terminal;
    e.message = "root session for account " + run->job.root_account_id + ": " + e.message;
  }
  const client::IamError* err = outcome.error ? &*outcome.error : nullptr;
  metrics->iam_call(call.action, err ? std::string_view(err->code) : std::string_view("OK"), info.duration);
  if (err && err->error_class == client::ErrorClass::throttled) {
    acct.gate.limiter().on_throttled();
  } else {
    acct.gate.limiter().on_success();
  }
  metrics->limiter_rate(acct.name, acct.gate.limiter().current_rate());
  if (run->abandoned) return;

  StepFacts facts;
  facts.action = call.action;
  facts.params = call.params;
  facts.attempt = run->call_attempts + 1;
  facts.duration = info.duration;
  facts.http_status = info.http_status;
  facts.dry_run = run->dry_run;

  if (err && err->error_class == client::ErrorClass::credentials) {
    on_credentials_error(acct, *err);
    auto step = make_step_record(facts, outcome, StepDisposition::handed_back);
    // The call never reached the planner: the checkpoint still points at it.
    return record(run, step, [this, run] { hand_back(run, "circuit_open"); });
  }
  // An answer from IAM that is not a credentials error: the account's keys work.
  if (outcome.ok || (err && err->http_status != 0)) on_account_answer(acct);

  if (err && RetryPolicy::retryable(err->error_class)) {
    const std::string cls(client::to_string(err->error_class));
    const int class_attempt = run->class_attempts[cls] + 1;
    const RetryDecision d = retry.decide(err->error_class, class_attempt, run->job.max_attempts);
    if (d.retry) {
      metrics->retry(cls, d.use_delayed_set);
      run->call_attempts = facts.attempt;
      run->class_attempts[cls] = class_attempt;
      auto step = make_step_record(facts, outcome,
                                   d.use_delayed_set ? StepDisposition::delayed : StepDisposition::retry,
                                   d.delay);
      const std::string why = error_text(*err);
      if (d.use_delayed_set) {
        return record(run, step, [this, run, d, why, cls] {
          run->phase = Run::Phase::moving;
          queue->schedule_delayed(run->id, run->entry_id, d.delay, why,
                                  [w = weak_from_this(), run, d, why, cls](std::error_code ec) {
                                    auto self = w.lock();
                                    if (!self || run->abandoned) return;
                                    if (self->move_failed(run, ec, "schedule_delayed")) return;
                                    self->log_job(spdlog::level::info, *run, "retry_scheduled",
                                                  "class=" + cls + " wait_ms=" + std::to_string(d.delay.count()) +
                                                      " where=delayed_set error=" + quote_value(why));
                                    self->remove_run(run);
                                    self->fill();
                                  });
        });
      }
      return record(run, step, [this, run, d, why, cls] {
        if (stopping) return hand_back(run, "shutdown");
        log_job(spdlog::level::debug, *run, "retry_scheduled",
                "class=" + cls + " wait_ms=" + std::to_string(d.delay.count()) +
                    " where=timer action=" + run->call->action);
        run->phase = Run::Phase::waiting;
        run->timer.expires_after(d.delay);
        run->timer.async_wait([w = weak_from_this(), run](std::error_code) {
          auto self = w.lock();
          if (!self || run->abandoned) return;
          if (self->stopping) return self->hand_back(run, "shutdown");
          self->on_retry_wait_over(run);
        });
        // A lost claim here means another worker owns the job now: stop (the timer's
        // handler sees `abandoned`).
        queue->schedule_retry(run->id, run->entry_id, d.delay, why,
                              [w = weak_from_this(), run](std::error_code ec) {
                                auto self = w.lock();
                                if (!self || run->abandoned) return;
                                self->move_failed(run, ec, "schedule_retry");
                              });
      });
    }
    // Attempts spent: the planner fails the job with this (last) error.
  }
  auto step = make_step_record(facts, outcome, StepDisposition::done);
  run->before_outcome = run->planner->checkpoint();
  run->planner->on_outcome(outcome);
  run->call_attempts = 0;
  run->class_attempts.clear();
  record(run, step, [this, run] { run_next(run); });
}

void Worker::Impl::record(const RunPtr& run, const nlohmann::json& step, std::function<void()> next) {
  run->phase = Run::Phase::moving;
  // The step comes from make_step_record (redacted there); the checkpoint is redacted by
  // names only: its values are what a resumed job sends again.
  queue->record_step(run->id, run->entry_id, step.dump(), redact(checkpoint(*run), false).dump(),
                     [w = weak_from_this(), run, next = std::move(next)](std::error_code ec) {
                       auto self = w.lock();
                       if (!self || run->abandoned) return;
                       if (self->move_failed(run, ec, "record_step")) return;
                       next();
                     });
}

nlohmann::json Worker::Impl::result_json(const Run& run, const JobResult& result) const {
  // One shape for every end: succeeded, failed (terminal error, attempts spent, a refused
  // dry-run call) and cancelled.
  nlohmann::json rj = to_json(result);
  rj["meta"] = run.job.meta.is_null() ? nlohmann::json::object() : run.job.meta;
  rj["type"] = std::string(to_string(run.job.type));
  rj["account"] = run.job.account;
  if (!run.job.user_name.empty()) rj["user_name"] = run.job.user_name;
  rj["calls"] = run.calls;
  rj["attempt"] = run.delivery;
  rj["dry_run"] = run.dry_run;
  rj["worker"] = queue->consumer();
  return redact(rj);  // would_call, descriptions, meta, errors: stored and printed as one
}

void Worker::Impl::finish_run(const RunPtr& run) {
  JobResult result = run->planner->result();
  release_probe(run);
  if (result.invalid) {
    const std::string error = result.error ? error_text(*result.error) : std::string();
    run->phase = Run::Phase::moving;
    dead_letter(run->id, run->entry_id, &run->job, error, error);
    return remove_run(run);
  }
  const bool ok = result.status == JobResult::Status::succeeded;
  // A failed job keeps the checkpoint of the call that failed: `iamq retry` resumes there.
  std::string cp;
  if (!ok && run->before_outcome.is_object()) {
    cp = nlohmann::json{{"v", 1}, {"planner", run->before_outcome}}.dump();
  }
  end_run(run, ok ? queue::JobStatus::succeeded : queue::JobStatus::failed, result, cp);
}

void Worker::Impl::fail_run(const RunPtr& run, client::IamError error) {
  JobResult result;
  result.status = JobResult::Status::failed;
  result.error = std::move(error);
  release_probe(run);
  end_run(run, queue::JobStatus::failed, result, {});
}

void Worker::Impl::cancel_run(const RunPtr& run) {
  JobResult result;
  result.outcome = "cancelled";
  release_probe(run);
  end_run(run, queue::JobStatus::cancelled, result, {});
}

void Worker::Impl::end_run(const RunPtr& run, queue::JobStatus status, const JobResult& result,
                           const std::string& cp) {
  nlohmann::json rj = result_json(*run, result);
  if (status == queue::JobStatus::cancelled) rj["status"] = "cancelled";
  const std::string error = result.error ? error_text(*result.error) : std::string();
  const std::string st(queue::to_string(status));
  run->phase = Run::Phase::moving;
  queue->finish(
      run->id, run->entry_id, status, rj.dump(), error,
      [w = weak_from_this(), run, st, outcome = result.outcome, error](std::error_code ec) {
        auto self = w.lock();
        if (!self || run->abandoned) return;
        // Cancel and pause answers come from record_step only; here any error abandons.
        if (ec && (ec == queue::Errc::cancel_requested || ec == queue::Errc::paused)) ec = {};
        if (self->move_failed(run, ec, "finish")) return;
        const auto ms_taken = std::chrono::duration_cast<milliseconds>(Clock::now() - run->started);
        std::string extra = "calls=" + std::to_string(run->calls) +
                            " duration_ms=" + std::to_string(ms_taken.count());
        if (st == "succeeded") {
          extra = "outcome=" + (outcome.empty() ? std::string("done") : outcome) + " " + extra;
        } else if (!error.empty()) {
          extra += " error=" + quote_value(error);
        }
        self->log_job(st == "succeeded" ? spdlog::level::info : spdlog::level::warn, *run, st, extra);
        self->metrics->job_finished(to_string(run->job.type), st);
        self->remove_run(run);
        self->fill();
      },
      cp);
}

void Worker::Impl::dead_letter(const std::string& id, const std::string& entry_id, const Job* job,
                               const std::string& reason, const std::string& error) {
  const std::string type = job ? std::string(to_string(job->type)) : std::string("invalid");
  const std::string user = job ? job->user_name : std::string();
  ++moving;
  queue->dead_letter(id, entry_id, redact_text(reason), redact_text(error),
                     [w = weak_from_this(), id, type, user, reason](std::error_code ec) {
                       auto self = w.lock();
                       if (!self) return;
                       --self->moving;
                       if (ec) {
                         spdlog::warn("job={} dead-letter failed ({}); it will be reclaimed", id, ec.message());
                       } else {
                         spdlog::warn("job={} type={} user={} status=dead reason={}", id, type,
                                      user.empty() ? "-" : user, quote_value(redact_text(reason)));
                         self->metrics->job_finished(type, "dead");
                       }
                       if (self->stopping) return self->maybe_finish_stop();
                       self->fill();
                     });
}

void Worker::Impl::hand_back(const RunPtr& run, std::string_view reason) {
  run->phase = Run::Phase::moving;
  queue->requeue(run->id, run->entry_id,
                 [w = weak_from_this(), run, reason = std::string(reason)](std::error_code ec) {
                   auto self = w.lock();
                   if (!self || run->abandoned) return;
                   if (self->move_failed(run, ec, "requeue")) return;
                   self->log_job(spdlog::level::info, *run, "queued",
                                 "reason=" + reason + " note=\"handed back; resumes at step " +
                                     (run->call ? run->call->action : std::string("start")) + "\"");
                   self->metrics->job_handed_back(reason);
                   self->release_probe(run);
                   self->remove_run(run);
                   if (self->stopping) return self->maybe_finish_stop();
                   self->fill();
                 },
                 std::string(reason));
}

void Worker::Impl::remove_run(const RunPtr& run) {
  auto it = runs.find(run->id);
  if (it != runs.end() && it->second == run) runs.erase(it);
  metrics->in_flight(runs.size());
  if (stopping) maybe_finish_stop();
}

bool Worker::Impl::move_failed(const RunPtr& run, std::error_code ec, std::string_view what) {
  if (!ec) return false;
  if (ec == queue::Errc::cancel_requested) {
    // iamq cancel: the call just made is recorded; no further call goes out.
    cancel_run(run);
    return true;
  }
  if (ec == queue::Errc::paused) {
    hand_back(run, "paused");
    return true;
  }
  run->abandoned = true;
  run->timer.cancel();
  if (ec == queue::Errc::lost_claim) {
    log_job(spdlog::level::warn, *run, "abandoned",
            "note=\"claim lost: the entry was reclaimed by another worker\"");
  } else {
    // The entry stays pending with this consumer; without renewals it is reclaimed after the
    // visibility timeout and resumes from the last recorded checkpoint.
    log_job(spdlog::level::warn, *run, "abandoned",
            std::string("note=\"redis ") + std::string(what) + " failed: " + ec.message() +
                "; resumed after the visibility timeout\"");
  }
  if (run->probe && run->account->gate.breaker().state() == CircuitBreaker::State::half_open) {
    run->account->gate.breaker().release_probe();
  }
  remove_run(run);
  if (!stopping) fill();
  return true;
}

void Worker::Impl::release_probe(const RunPtr& run) {
  AccountState& acct = *run->account;
  if (run->probe && acct.gate.breaker().state() == CircuitBreaker::State::half_open) {
    acct.gate.breaker().release_probe();  // ended without telling us about the keys
    arm_probe(acct, Clock::duration::zero());
  }
  run->probe = false;
}

void Worker::Impl::on_retry_wait_over(const RunPtr& run) {
  // Back to `running` before the call goes out; a cancel or pause seen here stops the job
  // before the call, a lost claim abandons it.
  run->phase = Run::Phase::moving;
  queue->wake(run->id, run->entry_id, [w = weak_from_this(), run](std::error_code ec) {
    auto self = w.lock();
    if (!self || run->abandoned) return;
    if (self->move_failed(run, ec, "wake")) return;
    if (self->stopping) return self->hand_back(run, "shutdown");
    self->acquire(run);
  });
}

// ---------------------------------------------------------------------------------------
// Circuits

void Worker::Impl::on_credentials_error(AccountState& acct, const client::IamError& error,
                                        bool startup) {
  const auto before = acct.gate.breaker().state();
  acct.gate.breaker().on_credentials_error(error);
  acct.circuit_record_clear = false;
  metrics->circuit(acct.name, true);
  if (before == CircuitBreaker::State::closed) {
    spdlog::error(
        "account {}: credentials rejected ({}); circuit open: its jobs stay queued, untouched; "
        "next probe in {}",
        acct.name, error_text(error), config::format_duration(cfg.circuit_probe_interval));
    write_circuit(acct);
  } else if (before == CircuitBreaker::State::half_open) {
    spdlog::warn("account {}: probe failed ({}); circuit stays open, next probe in {}", acct.name,
                 error_text(error), config::format_duration(cfg.circuit_probe_interval));
    write_circuit(acct);
  }
  arm_probe(acct, acct.gate.breaker().retry_in());
  if (opts.drain && !stopping && !startup) {
    spdlog::error("--drain: stopping because account {} cannot authenticate; its jobs stay queued",
                  acct.name);
    begin_stop(exit_circuit_open, "circuit open while draining");
  }
}

void Worker::Impl::on_account_answer(AccountState& acct) {
  const auto before = acct.gate.breaker().state();
  acct.gate.breaker().on_success();
  if (before == CircuitBreaker::State::closed) {
    if (!acct.circuit_record_clear) {
      acct.circuit_record_clear = true;
      write_circuit(acct);  // closed: removes a stale record of an earlier worker
    }
    return;
  }
  acct.circuit_record_clear = true;
  spdlog::info("account {}: credentials accepted again; circuit closed, its jobs start again",
               acct.name);
  acct.probe_timer.cancel();
  metrics->circuit(acct.name, false);
  write_circuit(acct);
  if (!stopping) fill();
}

void Worker::Impl::write_circuit(const AccountState& acct) {
  const auto st = acct.gate.breaker().state();
  const std::string error = acct.gate.breaker().last_error() && st != CircuitBreaker::State::closed
                                ? error_text(*acct.gate.breaker().last_error())
                                : std::string();
  queue->set_circuit(acct.name, std::string(to_string(st)), error, [name = acct.name](std::error_code ec) {
    if (ec) spdlog::warn("account {}: could not record the circuit state in Redis: {}", name, ec.message());
  });
}

void Worker::Impl::arm_probe(AccountState& acct, Clock::duration after) {
  if (stopping) return;
  acct.probe_timer.expires_after(after);
  acct.probe_timer.async_wait([w = weak_from_this(), name = acct.name](std::error_code ec) {
    auto self = w.lock();
    if (!self || ec || self->stopping) return;
    // The gate lets the probe through when it is due; its job comes from the lane.
    if (self->accounts.count(name)) self->fill();
  });
}


}  // namespace iamq::worker
