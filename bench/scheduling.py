"""Scheduling figures of issue 10 for scripts/bench: fairness between accounts, many accounts on
one worker, an urgent job behind a bulk batch, and the time to revoke an offboarded user's
credentials under bulk load. Each scenario is a function of the Bench (bench/bench.py).

Every job here is an `iam_calls` job of a known number of GetUser calls (read-only, so the
emulator's state does not change under it) or a real `offboard_user`; the figures come from
what the worker recorded in Redis (step logs, job records), the CPU beside them from
/proc/PID/stat of the worker, redis-server and the emulator.
"""
from __future__ import annotations

import time

import emu
import multi
from figures import goal, percentile, r
from lib import log

LATENCY_MS = 20  # emulator latency of every scenario here (as scenario 1)


def _accounts_cfg(b, em, name: str, accounts: dict[str, tuple[float, float]], extra: str = ""):
    sections = [multi.account_toml(a, endpoint=em.endpoint, rate=rate, burst=burst)
                for a, (rate, burst) in accounts.items()]
    return multi.write_config(b.tmp / f"{name}.toml", redis_url=b.redis.url, sections=sections, extra=extra)


def _calls_in(step_logs: dict, t_from: float, t_to: float) -> int:
    """Calls sent in [t_from, t_to) (unix ms) over the given step logs."""
    return sum(1 for st in step_logs.values() for sent, _ in multi.call_times(st) if t_from <= sent < t_to)


def _cpu(b, em, worker) -> multi.Cpu:
    return multi.Cpu(worker=worker.proc, redis_server=b.redis.proc, emulator=em.proc)


# ---------------------------------------------------------------- 1. fairness

def fairness(b) -> None:
    """A and B at 20 calls/s each; 2,000 one-call jobs of A enqueued, then 20 ten-call jobs of B."""
    quick = b.p.quick
    rate, burst = 20.0, 5.0
    a_jobs, b_jobs, b_calls_each = (500 if quick else 2000), 20, 10
    b.flush()
    with emu.EmulatorRun(b.tmp, users=2, seed=b.p.random_seed, latency_ms=LATENCY_MS) as em:
        user = em.user_names()[0]
        cfg = _accounts_cfg(b, em, "fairness", {"A": (rate, burst), "B": (rate, burst)})
        a_ids = [f"fair-A-{i:05d}" for i in range(a_jobs)]
        b_ids = [f"fair-B-{i:02d}" for i in range(b_jobs)]
        w = multi.BgWorker(b, cfg, 64)
        c = b.redis.client()
        try:
            _, enq_cmd = multi.enqueue(b, cfg, [multi.iam_calls_job("A", 1, user=user, job_id=i) for i in a_ids])
            # A is running at its rate before B arrives.
            multi.wait_until(lambda: em.snapshot().calls >= 2 * rate, 60, "A's first calls", worker=w)
            lanes_a = c.call("LLEN", "iamq:lane:A:normal")
            cpu = _cpu(b, em, w)
            t_enq = multi.xadd(c, [multi.iam_calls_job("B", b_calls_each, user=user, job_id=i) for i in b_ids])
            multi.wait_until(lambda: multi.count_final(c, b_ids) == b_jobs, 120, "B's jobs", interval=0.1, worker=w)
            cpu_fig = cpu.stop()
            time.sleep(0.5)
            b_recs = multi.records(c, b_ids, "status", "finished_at")
            b_steps = multi.steps(c, b_ids)
            a_steps = multi.steps(c, a_ids)
        finally:
            c.close()
            w.stop()
    b_times = [t for st in b_steps.values() for t in multi.call_times(st)]
    b_calls = len(b_times)
    b_first = min(t[0] for t in b_times)
    b_last_sent = max(t[0] for t in b_times)
    b_done = max(int(x["finished_at"]) for x in b_recs)
    b_seconds = (b_done - t_enq) / 1000.0
    lower = b_calls / rate
    window = (b_last_sent - b_first) / 1000.0
    a_in = _calls_in(a_steps, b_first, b_last_sent)
    b_in = _calls_in(b_steps, b_first, b_last_sent)
    aggregate = (a_in + b_in) / window if window > 0 else None
    figures = {
        "b_jobs": b_jobs, "b_calls": b_calls, "b_statuses": sorted({x["status"] for x in b_recs}),
        "a_jobs_enqueued": a_jobs, "a_jobs_waiting_in_lane_when_b_arrived": lanes_a,
        "b_seconds_enqueue_to_done": r(b_seconds, 2), "b_lower_bound_seconds": r(lower, 2),
        "b_over_lower_bound": r(b_seconds / lower, 3),
        "b_first_call_after_enqueue_seconds": r((b_first - t_enq) / 1000.0, 3),
        "window_seconds": r(window, 2), "a_calls_in_window": a_in, "b_calls_in_window": b_in,
        "a_calls_per_second_in_window": r(a_in / window, 1) if window else None,
        "b_calls_per_second_in_window": r(b_in / window, 1) if window else None,
        "aggregate_calls_per_second": r(aggregate, 1),
        "aggregate_over_40": r(aggregate / (2 * rate), 3) if aggregate else None,
        "cpu_while_b_ran": cpu_fig,
    }
    b.record("fairness", "Fairness: B's 20 jobs behind A's backlog, both accounts at 20 calls/s", figures,
             [goal("b_over_lower_bound", figures["b_over_lower_bound"], "<=", 1.5, "x"),
              goal("aggregate_over_40", figures["aggregate_over_40"], ">=", 0.95)],
             {"emulator": em.command, "config": str(cfg), "enqueue_a": enq_cmd,
              "enqueue_b": "XADD iamq:jobs * job <iam_calls job> (20, one pipeline)", "worker": w.command},
             {"rate": rate, "burst": burst, "a_jobs": a_jobs, "a_calls_per_job": 1, "b_jobs": b_jobs,
              "b_calls_per_job": b_calls_each, "latency_ms": LATENCY_MS, "concurrency": 64},
             ["B's lower bound = B's calls ÷ B's rate; B's time = from just before its XADD to the last "
              "B record's finished_at; aggregate = calls of A and B sent (at_ms - duration_ms of each "
              "step) from B's first call to B's last call, ÷ that window",
              "A and B are accounts of the worker's config on the same emulator account (the "
              "worker's lanes, limiters and round-robin are per configured account)"])


# ---------------------------------------------------------------- 2. many accounts

def _many_run(b, em, cfg, names, jobs, concurrency: int, rate: float) -> dict:
    b.flush()
    _, enq_cmd = multi.enqueue(b, cfg, jobs)
    w = multi.BgWorker(b, cfg, concurrency, drain=True)
    cpu = _cpu(b, em, w)
    wall = w.wait(600)
    cpu_fig = cpu.stop()
    c = b.redis.client()
    try:
        ids = [j["id"] for j in jobs]
        logs = multi.steps(c, ids)
        statuses = sorted({x["status"] for x in multi.records(c, ids, "status")})
    finally:
        c.close()
    per_acct: dict[str, list[float]] = {a: [] for a in names}
    spans: dict[str, list[tuple[float, float]]] = {a: [] for a in names}  # (first call sent, last answer)
    for jid, st in logs.items():
        t = multi.call_times(st)
        per_acct[jid.split("-")[1]].extend(x for x, _ in t)
        if t:
            spans[jid.split("-")[1]].append((t[0][0], t[-1][1]))
    first = min(min(v) for v in per_acct.values())
    # Steady window: from 2 s after the first call until 1 s before the first account ran out of work.
    start, end = first + 2000.0, min(max(v) for v in per_acct.values()) - 1000.0
    secs = (end - start) / 1000.0
    rates = {a: sum(1 for t in v if start <= t < end) / secs for a, v in per_acct.items()} if secs > 0 else {}
    # Jobs of each account running (first call sent … last answer), every 100 ms of the window.
    idle_share, most = [], 0
    points = [start + 100.0 * k for k in range(int((end - start) / 100.0))]
    for a in names:
        running = [sum(1 for x, y in spans[a] if x <= t <= y) for t in points]
        idle_share.append(sum(1 for n in running if n == 0) / len(running) if running else 0.0)
        most = max([most, *running])
    aggregate = sum(rates.values()) if rates else None
    slowest = min(rates, key=rates.get) if rates else None
    return {"concurrency": concurrency, "jobs": len(jobs), "calls": sum(len(v) for v in per_acct.values()),
            "statuses": statuses, "wall_seconds": r(wall, 1), "window_seconds": r(secs, 2),
            "aggregate_calls_per_second": r(aggregate, 1),
            "aggregate_over_500": r(aggregate / (len(names) * rate), 3) if aggregate else None,
            "slowest_account": slowest, "slowest_account_calls_per_second": r(rates.get(slowest), 2),
            "slowest_account_over_rate": r(rates[slowest] / rate, 3) if slowest else None,
            "fastest_account_calls_per_second": r(max(rates.values()), 2) if rates else None,
            "share_of_time_an_account_had_no_job_running": r(sum(idle_share) / len(idle_share), 3),
            "most_jobs_of_one_account_running_at_once": most,
            "cpu": cpu_fig, "commands": {"enqueue": enq_cmd, "worker": w.command}}


def many_accounts(b) -> None:
    """50 accounts at 10 calls/s each on one worker: the aggregate and the slowest account, at the
    default concurrency (64, the goal's figure) and at 256 beside it."""
    quick = b.p.quick
    n, rate, burst = 50, 10.0, 5.0
    jobs_per, calls_per = 20, (8 if quick else 15)
    names = [f"acct{i:02d}" for i in range(n)]
    with emu.EmulatorRun(b.tmp, users=2, seed=b.p.random_seed, latency_ms=LATENCY_MS) as em:
        user = em.user_names()[0]
        cfg = _accounts_cfg(b, em, "many-accounts", {a: (rate, burst) for a in names})
        jobs = [multi.iam_calls_job(a, calls_per, user=user, job_id=f"many-{a}-{j:02d}")
                for a in names for j in range(jobs_per)]
        run = _many_run(b, em, cfg, names, jobs, 64, rate)
        wide = _many_run(b, em, cfg, names, jobs, 256, rate)
    figures = {**{k: v for k, v in run.items() if k != "commands"}, "accounts": n,
               "at_concurrency_256": {k: v for k, v in wide.items() if k != "commands"}}
    b.record("many_accounts", "Many accounts: 50 accounts at 10 calls/s each on one worker", figures,
             [goal("aggregate_over_500", figures["aggregate_over_500"], ">=", 0.95),
              goal("slowest_account_over_rate", figures["slowest_account_over_rate"], ">=", 0.9)],
             {"emulator": em.command, "config": str(cfg), **run["commands"],
              "worker_256": wide["commands"]["worker"]},
             {"accounts": n, "rate": rate, "burst": burst, "jobs_per_account": jobs_per,
              "calls_per_job": calls_per, "latency_ms": LATENCY_MS, "concurrency": [64, 256],
              "enqueue_order": "account by account (all of acct00, then acct01, …)"},
             ["per-account rate = calls sent in the steady window ÷ its length; the window runs from "
              "2 s after the first call to 1 s before the first account's last call (after that "
              "some accounts have no work left); goals on the default concurrency (64), the same "
              "batch at 256 beside it",
              "a job holds its slot from its start to its end, also while it waits for a token of "
              "its account; share_of_time_an_account_had_no_job_running and "
              "most_jobs_of_one_account_running_at_once come from the step logs (first call sent to "
              "last answer of each job, every 100 ms of the window)"])


# ---------------------------------------------------------------- 3. urgent behind bulk

def _bulk_backlog(b, em, cfg, c, w, account: str, n: int, user: str, rate: float) -> str:
    bulk = [multi.iam_calls_job(account, 1, user=user, priority="bulk", job_id=f"bulk-{i:05d}") for i in range(n)]
    _, cmd = multi.enqueue(b, cfg, bulk, name="enqueue bulk")
    # Every bulk job routed into its lane, and the account busy at its rate.
    multi.wait_until(lambda: int(c.call("XLEN", "iamq:jobs")) < 200, 120, "the bulk batch routed", worker=w)
    multi.wait_until(lambda: em.snapshot().calls >= 2 * rate, 60, "bulk calls", worker=w)
    return cmd


def urgent_behind_bulk(b) -> None:
    quick = b.p.quick
    rate, burst = 50.0, 5.0
    n_bulk = 2000 if quick else 10_000
    b.flush()
    with emu.EmulatorRun(b.tmp, users=20, seed=b.p.random_seed, latency_ms=LATENCY_MS) as em:
        users = em.user_names()
        cfg = _accounts_cfg(b, em, "urgent", {"default": (rate, burst)})
        w = multi.BgWorker(b, cfg, 64)
        c = b.redis.client()
        try:
            bulk_cmd = _bulk_backlog(b, em, cfg, c, w, "default", n_bulk, users[-1], rate)
            waiting = int(c.call("LLEN", "iamq:lane:default:bulk"))
            cpu = _cpu(b, em, w)
            job = {"id": "urgent-1", "type": "offboard_user", "user_name": users[0], "priority": "urgent"}
            t_enq = multi.xadd(c, [job])
            multi.wait_until(lambda: multi.count_final(c, ["urgent-1"]) == 1, 60, "the urgent job",
                             interval=0.02, worker=w)
            cpu_fig = cpu.stop()
            rec = multi.records(c, ["urgent-1"], "status", "finished_at", "started_at")[0]
            st = multi.steps(c, ["urgent-1"])["urgent-1"]
            bulk_left = int(c.call("LLEN", "iamq:lane:default:bulk"))
        finally:
            c.close()
            w.stop()
    times = multi.call_times(st)
    first = (times[0][0] - t_enq) / 1000.0
    done = (int(rec["finished_at"]) - t_enq) / 1000.0
    lower = len(times) / rate
    figures = {"bulk_jobs_enqueued": n_bulk, "bulk_jobs_waiting_when_urgent_arrived": waiting,
               "bulk_jobs_still_waiting_when_urgent_done": bulk_left,
               "urgent_status": rec["status"], "urgent_calls": len(times),
               "first_call_after_enqueue_seconds": r(first, 3),
               "started_after_enqueue_seconds": r((int(rec["started_at"]) - t_enq) / 1000.0, 3),
               "done_after_enqueue_seconds": r(done, 3), "lower_bound_seconds": r(lower, 3),
               "done_minus_lower_bound_seconds": r(done - lower, 3), "cpu": cpu_fig}
    b.record("urgent_behind_bulk", f"An urgent offboarding behind {n_bulk:,} bulk jobs of the same account",
             figures,
             [goal("first_call_after_enqueue_seconds", figures["first_call_after_enqueue_seconds"], "<=", 1.0, "s"),
              goal("done_minus_lower_bound_seconds", figures["done_minus_lower_bound_seconds"], "<=", 2.0, "s")],
             {"emulator": em.command, "config": str(cfg), "enqueue_bulk": bulk_cmd,
              "enqueue_urgent": "XADD iamq:jobs * job {…offboard_user, priority urgent}", "worker": w.command},
             {"rate": rate, "burst": burst, "bulk_jobs": n_bulk, "bulk_calls_per_job": 1,
              "latency_ms": LATENCY_MS, "concurrency": 64},
             ["enqueue = unix ms just before the XADD; first call = at_ms - duration_ms of its first step; "
              "done = the record's finished_at; lower bound = its calls ÷ the account's rate (the bulk "
              "jobs already started keep taking tokens meanwhile)"])


# ---------------------------------------------------------------- 4. time to revoke

REVOKE_ACTIONS = {"DeleteLoginProfile", "ListAccessKeys", "DeleteAccessKey", "UpdateAccessKey"}


def time_to_revoke(b) -> None:
    """100 urgent offboardings arriving one every 0.25 s while the account works through bulk jobs:
    from enqueue until its login profile is gone and every access key is deleted."""
    quick = b.p.quick
    rate, burst = 100.0, 10.0
    n_urgent, n_bulk, spacing = (30 if quick else 100), (3000 if quick else 10_000), 0.25
    b.flush()
    with emu.EmulatorRun(b.tmp, users=n_urgent + 1, seed=b.p.random_seed, latency_ms=LATENCY_MS) as em:
        users = em.user_names()
        before_state = {u["name"]: u for u in em.users()}
        cfg = _accounts_cfg(b, em, "revoke", {"default": (rate, burst)})
        w = multi.BgWorker(b, cfg, 64)
        c = b.redis.client()
        ids = [f"revoke-{i:03d}" for i in range(n_urgent)]
        t_enq = {}
        try:
            bulk_cmd = _bulk_backlog(b, em, cfg, c, w, "default", n_bulk, users[-1], rate)
            cpu = _cpu(b, em, w)
            for i, jid in enumerate(ids):
                t_enq[jid] = multi.xadd(c, [{"id": jid, "type": "offboard_user", "user_name": users[i],
                                              "priority": "urgent"}])
                time.sleep(spacing)
            multi.wait_until(lambda: multi.count_final(c, ids) == n_urgent, 120, "the urgent jobs",
                             interval=0.1, worker=w)
            cpu_fig = cpu.stop()
            logs = multi.steps(c, ids)
            statuses = sorted({x["status"] for x in multi.records(c, ids, "status")})
            bulk_left = int(c.call("LLEN", "iamq:lane:default:bulk"))
        finally:
            c.close()
            w.stop()
        after = {u["name"] for u in em.users()}
    secs, first = [], []
    for i, jid in enumerate(ids):
        st = [s for s in logs[jid] if s.get("disposition", "done") == "done"]
        rev = [s["at_ms"] for s in st if s["action"] in REVOKE_ACTIONS]
        if rev:
            secs.append((max(rev) - t_enq[jid]) / 1000.0)
        if logs[jid]:
            first.append((multi.call_times(logs[jid])[0][0] - t_enq[jid]) / 1000.0)
    with_profile = sum(1 for u in users[:n_urgent] if before_state.get(u, {}).get("login_profile"))
    p50, p99 = percentile(secs, 50), percentile(secs, 99)
    figures = {"urgent_jobs": n_urgent, "statuses": statuses, "measured": len(secs),
               "users_still_present": sum(1 for u in users[:n_urgent] if u in after),
               "users_with_login_profile_before": with_profile,
               "time_to_revoke_p50_seconds": r(p50, 3), "time_to_revoke_p99_seconds": r(p99, 3),
               "time_to_revoke_max_seconds": r(max(secs), 3) if secs else None,
               "first_call_p50_seconds": r(percentile(first, 50), 3),
               "first_call_p99_seconds": r(percentile(first, 99), 3),
               "bulk_jobs_still_waiting_at_end": bulk_left, "cpu": cpu_fig}
    b.record("time_to_revoke", f"Time to revoke: {n_urgent} urgent offboardings under a bulk load",
             figures,
             [goal("time_to_revoke_p99_seconds", figures["time_to_revoke_p99_seconds"], "<=", 3.0,
                   "s (ours: urgent_behind_bulk's 1 s to the first call + 2 s)"),
              goal("users_still_present", figures["users_still_present"], "<=", 0)],
             {"emulator": em.command, "config": str(cfg), "enqueue_bulk": bulk_cmd,
              "enqueue_urgent": f"XADD iamq:jobs * job {{…offboard_user, priority urgent}}, one every {spacing} s",
              "worker": w.command},
             {"rate": rate, "burst": burst, "urgent_jobs": n_urgent, "bulk_jobs": n_bulk,
              "spacing_seconds": spacing, "latency_ms": LATENCY_MS, "concurrency": 64},
             ["revoked = the last of DeleteLoginProfile, ListAccessKeys and each DeleteAccessKey "
              "recorded done (at_ms, the worker's clock when the answer was recorded); from unix ms "
              "just before its XADD; nearest-rank percentiles"])


SCENARIOS = {"fairness": fairness, "many_accounts": many_accounts,
             "urgent_behind_bulk": urgent_behind_bulk, "time_to_revoke": time_to_revoke}
EXTRA_TABLE = {
    "fairness": ["b_seconds_enqueue_to_done", "b_lower_bound_seconds", "aggregate_calls_per_second"],
    "many_accounts": ["aggregate_calls_per_second", "slowest_account_calls_per_second"],
    "urgent_behind_bulk": ["done_after_enqueue_seconds", "lower_bound_seconds", "urgent_calls"],
    "time_to_revoke": ["time_to_revoke_p50_seconds", "time_to_revoke_max_seconds"],
}
