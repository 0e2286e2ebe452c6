// The worker's shell, part 2: carrying out one job's run (worker/job_run.hpp decides; this
// file sends its calls through the account's limiter and the fleet limiter, writes what it
// asks to Redis, arms its timers and feeds every answer back), and the account circuits.
#include <algorithm>

#include <boost/asio/post.hpp>

#include "queue/error.hpp"
#include "worker/redaction.hpp"
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

void Worker::Impl::feed(const RunPtr& run, JobRun::Event e) {
  carry_out(run, run->fsm->resume(std::move(e)));
}

std::function<void(std::error_code)> Worker::Impl::written(const RunPtr& run, JobRun::Op op) {
  return [w = weak_from_this(), run, op](std::error_code ec) {
    auto self = w.lock();
    if (!self || self->finalized) return;
    self->feed(run, JobRun::Event::written(op, ec));
  };
}

void Worker::Impl::carry_out(const RunPtr& run, JobRun::Action a) {
  using Op = JobRun::Op;
  switch (a.op) {
    case Op::none:
      return;
    case Op::acquire:
      return acquire(run);
    case Op::issue_call:
      return issue_call(run);
    case Op::write_step:
      if (!a.retry_class.empty()) metrics->retry(a.retry_class, a.retry_delayed);
      return queue->record_step(run->id, run->entry_id, a.step.dump(), a.checkpoint,
                                written(run, Op::write_step));
    case Op::wait_retry:
      return wait_retry(run, a);
    case Op::wake:
      return queue->wake(run->id, run->entry_id, written(run, Op::wake));
    case Op::schedule_delayed:
      return queue->schedule_delayed(run->id, run->entry_id, a.delay, a.error,
                                     written(run, Op::schedule_delayed));
    case Op::finish:
      run->timer.cancel();
      release_probe(run);
      return queue->finish(run->id, run->entry_id, a.status, a.result, a.error,
                           written(run, Op::finish), a.checkpoint);
    case Op::hand_back:
      run->timer.cancel();
      return queue->requeue(run->id, run->entry_id, written(run, Op::hand_back), a.reason);
    case Op::dead_letter:
      release_probe(run);
      dead_letter(run->id, run->entry_id, &run->job(), a.reason, a.error);
      return remove_run(run);
    case Op::done:
      return on_run_over(run, a);
  }
}

void Worker::Impl::acquire(const RunPtr& run) {
  if (!fleet) return enter_line(run);
  AccountState& acct = *run->account;
  fleet->reserve(acct.name, [w = weak_from_this(), run](std::error_code ec,
                                                        std::chrono::microseconds fleet_wait) {
    auto self = w.lock();
    if (!self || self->finalized || !run->acquiring()) return;
    if (ec) {
      // Without the shared limiter we cannot know the fleet's rate: wait and ask again.
      spdlog::warn("job={} fleet limiter unavailable ({}); asking again", run->id, ec.message());
      run->timer.expires_after(kRedisRetry);
      run->timer.async_wait([w, run](std::error_code) {
        auto s = w.lock();
        if (s && !s->finalized && run->acquiring()) s->acquire(run);
      });
      return;
    }
    self->metrics->limiter_wait(run->account->name, "fleet", fleet_wait);
    if (fleet_wait <= std::chrono::microseconds::zero()) return self->enter_line(run);
    run->timer.expires_after(fleet_wait);
    run->timer.async_wait([w, run](std::error_code) {
      auto s = w.lock();
      if (s && !s->finalized && run->acquiring()) s->enter_line(run);
    });
  });
}

void Worker::Impl::end_cycle(Run& run) {
  if (!run.granted_at) return;
  run.account->gate.on_cycle(Clock::now() - *run.granted_at);
  run.granted_at.reset();
}

void Worker::Impl::enter_line(const RunPtr& run) {
  AccountState& acct = *run->account;
  end_cycle(*run);
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
    if (!run->acquiring()) {  // handed back (stop), cancelled, abandoned
      acct.waiting.pop_front();
      continue;
    }
    if (!acct.gate.limiter().try_acquire()) break;
    acct.waiting.pop_front();
    run->granted_at = Clock::now();
    metrics->limiter_wait(acct.name, "account", run->granted_at.value() - run->queued_at);
    feed(run, JobRun::Event::granted());
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
  for (const auto& r : acct.waiting) n += r->acquiring() ? 1 : 0;
  acct.gate.set_waiting_for_token(n);
}

void Worker::Impl::issue_call(const RunPtr& run) {
  const PlannedCall& call = *run->fsm->call();
  // One line per call sent (trace level): lets an operator line the worker's sending rate up
  // with the account's limit. Names only, never parameters.
  spdlog::trace("call job={} account={} action={}", run->id, run->account->name, call.action);
  if (run->job().type == JobType::deactivate_root_mfa && !run->root_client) {
    // No root session could be set up: never send a root task with the account's own keys.
    client::Outcome failed;
    client::IamError err;
    err.code = "InvalidConfiguration";
    err.message = "root session for account " + run->job().root_account_id + ": " + run->root_error;
    failed.error = err;
    asio::post(ioc, [w = weak_from_this(), run, failed = std::move(failed)]() mutable {
      if (auto self = w.lock()) self->on_call_done(run, std::move(failed), client::CallInfo{});
    });
    return;
  }
  client::IamClient& iam = run->root_client ? *run->root_client : *run->account->client;
  iam.call(call.action, call.params,
                             [w = weak_from_this(), run](std::error_code, client::Outcome outcome,
                                                         client::CallInfo info) {
                               if (auto self = w.lock()) self->on_call_done(run, std::move(outcome), info);
                             });
}

void Worker::Impl::on_call_done(const RunPtr& run, client::Outcome outcome, client::CallInfo info) {
  // What the answer says about the account comes first, whatever became of the job.
  AccountState& acct = *run->account;
  const PlannedCall& call = *run->fsm->call();
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
    e.message = "root session for account " + run->job().root_account_id + ": " + e.message;
  }
  const client::IamError* err = outcome.error ? &*outcome.error : nullptr;
  metrics->iam_call(call.action, err ? std::string_view(err->code) : std::string_view("OK"), info.duration);
  if (err && err->error_class == client::ErrorClass::throttled) {
    acct.gate.limiter().on_throttled();
  } else {
    acct.gate.limiter().on_success();
  }
  metrics->limiter_rate(acct.name, acct.gate.limiter().current_rate());
  if (finalized || run->fsm->state() != JobRun::State::calling) return;  // abandoned meanwhile
  if (err && err->error_class == client::ErrorClass::credentials) {
    on_credentials_error(acct, *err);  // the run records the step and hands the job back
  } else if (outcome.ok || (err && err->http_status != 0)) {
    on_account_answer(acct);  // an answer from IAM that is not a credentials error: the keys work
  }
  feed(run, JobRun::Event::answered(std::move(outcome), info, std::chrono::system_clock::now()));
}

void Worker::Impl::wait_retry(const RunPtr& run, const JobRun::Action& a) {
  end_cycle(*run);
  log_job(spdlog::level::debug, *run, "retry_scheduled",
          "class=" + a.retry_class + " wait_ms=" + std::to_string(a.delay.count()) +
              " where=timer action=" + run->fsm->call()->action);
  run->timer.expires_after(a.delay);
  run->timer.async_wait([w = weak_from_this(), run](std::error_code) {
    auto self = w.lock();
    if (!self || self->finalized) return;
    self->feed(run, JobRun::Event::timer_fired());
  });
  // A lost claim here means another worker owns the job now: the run stops (and ignores its
  // timer).
  queue->schedule_retry(run->id, run->entry_id, a.delay, a.error, written(run, JobRun::Op::wait_retry));
}

void Worker::Impl::on_run_over(const RunPtr& run, const JobRun::Action& a) {
  using End = JobRun::End;
  run->timer.cancel();
  switch (a.end) {
    case End::succeeded:
    case End::failed:
    case End::cancelled: {
      const std::string st(queue::to_string(a.status));
      const auto ms_taken = std::chrono::duration_cast<milliseconds>(Clock::now() - run->started);
      std::string extra = "calls=" + std::to_string(run->fsm->calls()) +
                          " duration_ms=" + std::to_string(ms_taken.count());
      if (a.end == End::succeeded) {
        extra = "outcome=" + (a.outcome.empty() ? std::string("done") : a.outcome) + " " + extra;
      } else if (!a.error.empty()) {
        extra += " error=" + quote_value(a.error);
      }
      log_job(a.end == End::succeeded ? spdlog::level::info : spdlog::level::warn, *run, st, extra);
      metrics->job_finished(to_string(run->job().type), st);
      remove_run(run);
      return fill();
    }
    case End::handed_back:
      log_job(spdlog::level::info, *run, "queued",
              "reason=" + a.reason + " note=\"handed back; resumes at step " +
                  (run->fsm->call() ? run->fsm->call()->action : std::string("start")) + "\"");
      metrics->job_handed_back(a.reason);
      release_probe(run);
      run->account->lanes_empty = false;  // it is back at the front of its lane
      remove_run(run);
      if (stopping) return maybe_finish_stop();
      return fill();
    case End::delayed:
      log_job(spdlog::level::info, *run, "retry_scheduled",
              "class=" + a.retry_class + " wait_ms=" + std::to_string(a.delay.count()) +
                  " where=delayed_set error=" + quote_value(a.error));
      remove_run(run);
      return fill();
    case End::abandoned:
      log_job(spdlog::level::warn, *run, "abandoned", "note=" + quote_value(a.reason));
      if (run->probe && run->account->gate.breaker().state() == CircuitBreaker::State::half_open) {
        run->account->gate.breaker().release_probe();
      }
      remove_run(run);
      if (!stopping) fill();
      return;
  }
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

void Worker::Impl::remove_run(const RunPtr& run) {
  end_cycle(*run);
  auto it = runs.find(run->id);
  if (it != runs.end() && it->second == run) runs.erase(it);
  metrics->in_flight(runs.size());
  if (stopping) maybe_finish_stop();
}

void Worker::Impl::release_probe(const RunPtr& run) {
  AccountState& acct = *run->account;
  if (run->probe && acct.gate.breaker().state() == CircuitBreaker::State::half_open) {
    acct.gate.breaker().release_probe();  // ended without telling us about the keys
    arm_probe(acct, Clock::duration::zero());
  }
  run->probe = false;
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
