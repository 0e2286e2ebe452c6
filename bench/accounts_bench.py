"""Figures of many accounts for scripts/bench: the worker's CPU per job start with 1,000 accounts
against 10 and Redis's memory per idle lane (issue 10), a fan-out of one user over 50 accounts
reached through roles, and the longest gap between calls across credentials refreshes (issue
11), against the emulator's STS (`--sts-seed`, `--credential-ttl`; the worker finds it through
AWS_ENDPOINT_URL_STS, as tests/worker/fan_out_itest.cpp does).
"""
from __future__ import annotations

import json
import threading
import time

import emu
import lib
import multi
from figures import goal, r
from lib import log

WORKER_ENV = {"AWS_EC2_METADATA_DISABLED": "true"}


def member_id(i: int) -> str:
    return f"2000{i:08d}"


def _role_env(em) -> dict:
    return {**WORKER_ENV, "AWS_ENDPOINT_URL_STS": em.endpoint}


def _sts_seed(b, name: str, ids: list[str]):
    path = b.tmp / f"{name}-sts.json"
    path.write_text(json.dumps({"roles": [{"account_id": i, "name": "iamq", "trusted": [lib.ACCOUNT_ID]}
                                          for i in ids]}))
    return path


# ---------------------------------------------------------------- 5. scale: 1,000 accounts vs 10

def _non_job_keys_bytes(c: lib.Resp) -> tuple[int, int, dict]:
    """Bytes (MEMORY USAGE) of every key that is not a job record or step log, their count, and
    the lane keys that exist."""
    keys, cursor = [], "0"
    while True:
        cursor, batch = c.call("SCAN", cursor, "COUNT", 5000)
        keys += [k for k in batch if not k.startswith("iamq:job:")]
        if cursor == "0":
            break
    sizes = c.pipeline([("MEMORY", "USAGE", k, "SAMPLES", 0) for k in keys])
    lanes = [k for k in keys if k.startswith("iamq:lane:")]
    return sum(int(s or 0) for s in sizes), len(keys), {"lane_keys": len(lanes),
                                                        "by_key": dict(zip(keys, sizes))}


def _used_memory(c: lib.Resp) -> int:
    for line in c.call("INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def scale_accounts(b) -> None:
    quick = b.p.quick
    n_jobs = 3000 if quick else 10_000
    repeats = 1 if quick else 3
    # (accounts configured, accounts the jobs use): the goal compares (1000, 1000) with (10, 10);
    # (1000, 10) tells a cost per configured account from one per account in use.
    variants = [(10, 10), (1000, 1000), (1000, 10)]
    runs: dict[tuple, list[dict]] = {v: [] for v in variants}
    with emu.EmulatorRun(b.tmp, users=2, seed=b.p.random_seed, latency_ms=0) as em:
        user = em.user_names()[0]
        for rep in range(repeats):
            for n, used in variants:
                b.flush()
                names = [f"a{i:04d}" for i in range(n)]  # same length: job records of equal size
                sections = [multi.account_toml(a, endpoint=em.endpoint, rate=1e6, burst=1e6) for a in names]
                cfg = multi.write_config(b.tmp / f"scale-{n}.toml", redis_url=b.redis.url, sections=sections)
                # The worker's own cost with this config and an empty queue (start-up, --drain exit).
                idle = multi.BgWorker(b, cfg, 64, drain=True, env=WORKER_ENV)
                idle.wait(120)
                idle_cpu = idle.cpu()
                jobs = [multi.iam_calls_job(names[i % used], 1, user=user, job_id=f"scale-{i:06d}")
                        for i in range(n_jobs)]
                _, enq_cmd = multi.enqueue(b, cfg, jobs)
                c = b.redis.client()
                mem0 = _used_memory(c)
                w = multi.BgWorker(b, cfg, 64, drain=True, env=WORKER_ENV)
                redis0 = b.redis.proc.cpu_seconds()
                wall = w.wait(600)
                redis_cpu = b.redis.proc.cpu_seconds() - redis0
                cpu = w.cpu()
                # The events stream grows with the jobs, not the lanes: measured, then dropped
                # before INFO used_memory so that the difference is the accounts' own.
                events_bytes = int(c.call("MEMORY", "USAGE", "iamq:events", "SAMPLES", 0) or 0)
                c.call("DEL", "iamq:events")
                other, nkeys, info = _non_job_keys_bytes(c)
                run = {"accounts": n, "accounts_in_use": used, "jobs": n_jobs, "wall_seconds": r(wall, 2),
                       "worker_cpu_seconds": r(cpu), "worker_idle_run_cpu_seconds": r(idle_cpu),
                       "worker_cpu_us_per_job": r((cpu - idle_cpu) * 1e6 / n_jobs, 1),
                       "worker_cpu_us_per_job_gross": r(cpu * 1e6 / n_jobs, 1),
                       "worker_peak_rss_mib": r(w.proc.peak_rss_mib(), 1),
                       "redis_server_cpu_us_per_job": r(redis_cpu * 1e6 / n_jobs, 1),
                       "redis_used_memory_after": _used_memory(c),
                       "redis_used_memory_after_enqueue": mem0,
                       "lanes_registered": int(c.call("SCARD", "iamq:lanes")),
                       "lane_keys_left": info["lane_keys"], "non_job_keys": nkeys, "non_job_bytes": other,
                       "starts_hash_bytes": int(info["by_key"].get("iamq:starts") or 0),
                       "lanes_set_bytes": int(info["by_key"].get("iamq:lanes") or 0),
                       "events_stream_bytes": events_bytes, "non_job_keys_bytes": info["by_key"],
                       "commands": {"config": str(cfg), "enqueue": enq_cmd, "worker": w.command}}
                c.close()
                log(f"bench:   {n} accounts, {used} in use: {run['worker_cpu_us_per_job']} µs per job")
                runs[(n, used)].append(run)
    med = {n: sorted(v, key=lambda x: x["worker_cpu_us_per_job"])[len(v) // 2] for n, v in runs.items()}
    small, big, few = med[(10, 10)], med[(1000, 1000)], med[(1000, 10)]
    ratio = big["worker_cpu_us_per_job"] / small["worker_cpu_us_per_job"] if small["worker_cpu_us_per_job"] else None
    d_lanes = big["accounts"] - small["accounts"]  # idle lanes after the drain: one (normal) per account
    per_lane_keys = (big["non_job_bytes"] - small["non_job_bytes"]) / d_lanes if d_lanes else None
    per_lane_used = (big["redis_used_memory_after"] - small["redis_used_memory_after"]) / d_lanes if d_lanes else None
    figures = {
        "cpu_per_job_1000_over_10": r(ratio, 3),
        "worker_cpu_us_per_job_10_accounts": small["worker_cpu_us_per_job"],
        "worker_cpu_us_per_job_1000_accounts": big["worker_cpu_us_per_job"],
        "runs_us_per_job": {f"{n}/{u}": [x["worker_cpu_us_per_job"] for x in v] for (n, u), v in runs.items()},
        "worker_cpu_us_per_job_1000_configured_10_in_use": few["worker_cpu_us_per_job"],
        "redis_server_cpu_us_per_job_1000_configured_10_in_use": few["redis_server_cpu_us_per_job"],
        "redis_server_cpu_us_per_job_10_accounts": small["redis_server_cpu_us_per_job"],
        "redis_server_cpu_us_per_job_1000_accounts": big["redis_server_cpu_us_per_job"],
        "redis_bytes_per_idle_lane_keys": r(per_lane_keys, 1),
        "redis_bytes_per_idle_lane_used_memory": r(per_lane_used, 1),
        "idle_lane_keys_left": big["lane_keys_left"],
        "run_10_accounts": {k: v for k, v in small.items() if k != "commands"},
        "run_1000_accounts": {k: v for k, v in big.items() if k != "commands"},
        "run_1000_configured_10_in_use": {k: v for k, v in few.items() if k != "commands"},
    }
    b.record("scale_accounts", f"Scale: {n_jobs:,} one-call jobs over 1,000 accounts against 10", figures,
             [goal("cpu_per_job_1000_over_10", figures["cpu_per_job_1000_over_10"], "<=", 1.2, "x"),
              goal("idle_lane_keys_left", big["lane_keys_left"], "<=", 0),
              goal("redis_bytes_per_idle_lane_keys", figures["redis_bytes_per_idle_lane_keys"], "<=", 200,
                   "bytes (ours)")],
             {"emulator": em.command, **{f"{k}_1000": v for k, v in big["commands"].items()},
              "config_10": small["commands"]["config"]},
             {"jobs": n_jobs, "calls_per_job": 1, "accounts_configured_and_in_use": variants,
              "rate": "1e6 (unlimited)",
              "latency_ms": 0, "concurrency": 64, "repeats": repeats},
             ["CPU per job = (worker CPU of the --drain run − CPU of a --drain run with the same config "
              "and an empty queue) ÷ jobs, median of the repeats; the goal's configs name exactly the "
              "accounts in use (a0000…), jobs spread round-robin over them; beside them 1,000 "
              "accounts configured and the jobs in 10 of them",
              "per idle lane: after the drain every lane (one per account: the jobs are normal "
              "priority) is empty; bytes = the difference between the two runs of MEMORY USAGE "
              "summed over every key that is not a job record, a step log or the events stream (the "
              "starts hash, counts …), and of INFO used_memory with the events stream deleted, ÷ "
              "990 (the difference in accounts); job ids and account names have the same length "
              "in both runs"])


# ---------------------------------------------------------------- 7. fan-out over 50 accounts

def fan_out(b) -> None:
    n_members, rate, burst = 49, 10.0, 5.0  # + the hub ("default") = 50 configured accounts
    ids = [member_id(i) for i in range(n_members)]

    def user(acct: str) -> dict:
        return {"name": "jane.doe", "login_profile": True,
                "access_keys": [{"status": "Active"}, {"status": "Inactive"}],
                "mfa_devices": [f"arn:aws:iam::{acct}:mfa/jane.doe"]}

    seed = b.tmp / "fan-out-iam.json"
    seed.write_text(json.dumps({"accounts": [
        {"id": lib.ACCOUNT_ID, "keys": [{"access_key_id": lib.ACCESS_KEY_ID,
                                          "secret_access_key": lib.SECRET_ACCESS_KEY}],
         "users": [user(lib.ACCOUNT_ID)]},
        *({"id": i, "users": [user(i)]} for i in ids)]}))
    sts = _sts_seed(b, "fan-out", ids)
    b.flush()
    with emu.EmulatorRun(b.tmp, users=0, seed=b.p.random_seed, latency_ms=20,
                         extra_flags=["--seed", str(seed), "--sts-seed", str(sts)]) as em:
        sections = [multi.account_toml("default", endpoint=em.endpoint, rate=rate, burst=burst)]
        sections += [multi.account_toml(f"m{i:02d}", endpoint=em.endpoint, rate=rate, burst=burst,
                                        account_id=a, role=True) for i, a in enumerate(ids)]
        cfg = multi.write_config(b.tmp / "fan-out.toml", redis_url=b.redis.url, sections=sections)
        w = multi.BgWorker(b, cfg, 64, env=_role_env(em))
        c = b.redis.client()
        try:
            time.sleep(1.0)  # the worker is up and reading the intake
            cpu = multi.Cpu(worker=w.proc, redis_server=b.redis.proc, emulator=em.proc)
            t_enq = multi.xadd(c, [{"id": "FAN-1", "type": "offboard_user", "user_name": "jane.doe",
                                    "accounts": "*"}])
            multi.wait_until(lambda: multi.count_final(c, ["FAN-1"]) == 1, 120, "the fan-out parent",
                             interval=0.02, worker=w)
            cpu_fig = cpu.stop()
            parent = multi.records(c, ["FAN-1"], "status", "finished_at", "error")[0]
            children = sorted(lib.hash_of(c.call("HGETALL", "iamq:job:FAN-1:children")))
            logs = multi.steps(c, children)
            recs = dict(zip(children, multi.records(c, children, "status", "started_at", "finished_at")))
        finally:
            c.close()
            w.stop()
        sts_stats = em.em.admin("sts")
    done = (int(parent["finished_at"]) - t_enq) / 1000.0
    per_child = {}
    for ch, st in logs.items():
        n = len(st)
        per_child[ch] = {"calls": n, "lower_bound": max(n * 0.020, max(0, n - burst) / rate),
                         "seconds": (int(recs[ch]["finished_at"]) - t_enq) / 1000.0,
                         "first_call": (multi.call_times(st)[0][0] - t_enq) / 1000.0 if st else None}
    lower = max(v["lower_bound"] for v in per_child.values()) if per_child else None
    slowest = max(per_child, key=lambda k: per_child[k]["seconds"]) if per_child else None
    firsts = [v["first_call"] for v in per_child.values() if v["first_call"] is not None]
    figures = {"children": len(children), "parent_status": parent["status"], "parent_error": parent["error"],
               "child_statuses": sorted({x["status"] for x in recs.values()}),
               "calls_per_child": sorted({v["calls"] for v in per_child.values()}),
               "done_after_enqueue_seconds": r(done, 3), "lower_bound_seconds": r(lower, 3),
               "done_minus_lower_bound_seconds": r(done - lower, 3) if lower is not None else None,
               "slowest_child": slowest, "slowest_child_seconds": r(per_child[slowest]["seconds"], 3) if slowest else None,
               "first_child_call_after_enqueue_seconds": r(min(firsts), 3) if firsts else None,
               "last_child_first_call_after_enqueue_seconds": r(max(firsts), 3) if firsts else None,
               "sts_stats": sts_stats, "cpu": cpu_fig}
    b.record("fan_out", "Fan-out: one offboarding over 50 accounts (\"accounts\":\"*\"), 49 through a role",
             figures,
             [goal("done_minus_lower_bound_seconds", figures["done_minus_lower_bound_seconds"], "<=", 1.0, "s"),
              goal("children_not_succeeded", sum(1 for x in recs.values() if x["status"] != "succeeded"), "<=", 0)],
             {"emulator": em.command, "config": str(cfg), "worker": w.command,
              "worker_env": "AWS_ENDPOINT_URL_STS=<emulator> AWS_EC2_METADATA_DISABLED=true",
              "enqueue": "XADD iamq:jobs * job {\"id\":\"FAN-1\",\"type\":\"offboard_user\",\"user_name\":\"jane.doe\",\"accounts\":\"*\"}"},
             {"accounts": n_members + 1, "rate": rate, "burst": burst, "latency_ms": 20, "concurrency": 64,
              "user": "login profile, 2 access keys, a virtual MFA device, in every account"},
             ["lower bound = the slowest child's own: max(calls × 20 ms latency, (calls − burst) ÷ rate) "
              "(the children run in parallel, each in its own account); done = the parent's "
              "finished_at − unix ms just before its XADD; the roles' first AssumeRole is inside it"])


# ---------------------------------------------------------------- 8. the gap across a refresh

class StsSampler:
    """GET /_emulator/sts every 20 ms: when sessions were issued."""

    def __init__(self, em):
        self.em, self.samples, self.running = em, [], True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            try:
                self.samples.append((time.time() * 1000.0, int(self.em.em.admin("sts").get("issued", 0))))
            except (OSError, lib.Failure, ValueError):
                pass
            time.sleep(0.02)

    def stop(self) -> list[float]:
        self.running = False
        self.thread.join(5)
        return [t for (t, n), (_, n0) in zip(self.samples[1:], self.samples) if n > n0]


def refresh_gap(b) -> None:
    quick = b.p.quick
    ttl, n_acct, rate = 20, 4, 50.0
    seconds = 25 if quick else 60
    ids = [member_id(i) for i in range(n_acct)]
    sts = _sts_seed(b, "refresh", ids)
    b.flush()
    with emu.EmulatorRun(b.tmp, users=2, seed=b.p.random_seed, latency_ms=20,
                         extra_flags=["--sts-seed", str(sts), "--credential-ttl", str(ttl)]) as em:
        user = em.user_names()[0]
        names = [f"r{i}" for i in range(n_acct)]
        sections = [multi.account_toml("default", endpoint=em.endpoint, rate=rate, burst=5)]
        sections += [multi.account_toml(nm, endpoint=em.endpoint, rate=rate, burst=5, account_id=a, role=True)
                     for nm, a in zip(names, ids)]
        cfg = multi.write_config(b.tmp / "refresh.toml", redis_url=b.redis.url, sections=sections)
        per_acct_calls = int(rate * (seconds + 10))
        jobs = [multi.iam_calls_job(nm, 50, user=user, job_id=f"refresh-{nm}-{j:03d}")
                for nm in names for j in range(per_acct_calls // 50)]
        _, enq_cmd = multi.enqueue(b, cfg, jobs)
        sampler = StsSampler(em)
        w = multi.BgWorker(b, cfg, 64, env=_role_env(em))
        c = b.redis.client()
        try:
            t_start = time.time() * 1000.0
            cpu = multi.Cpu(worker=w.proc, redis_server=b.redis.proc, emulator=em.proc)
            while time.time() * 1000.0 - t_start < seconds * 1000.0:
                w.check()
                time.sleep(0.5)
            expired_before = emu.code_count(em.stats(), "ExpiredToken")
            t_forced = time.time() * 1000.0  # then every session expired at once: the ExpiredToken path
            em.em.admin("sts/expire", body={}, method="POST")
            time.sleep(5)
            expired_after = emu.code_count(em.stats(), "ExpiredToken")
            cpu_fig = cpu.stop()
            t_end = time.time() * 1000.0
        finally:
            w.stop()
            issued = sampler.stop()
        logs = multi.steps(c, [j["id"] for j in jobs])
        c.close()
    per_acct: dict[str, list[tuple[float, dict]]] = {nm: [] for nm in names}
    for jid, st in logs.items():
        for s in st:
            per_acct[jid.split("-")[1]].append((s["at_ms"] - s.get("duration_ms", 0), s))
    natural = [t for t in issued if t_start + 1000 < t < t_forced]

    def longest_gap(lo: float, hi: float) -> tuple[float, float]:
        best, at = 0.0, 0.0
        for v in per_acct.values():
            ts = sorted(t for t, _ in v if lo <= t <= hi)
            for a, bb in zip(ts, ts[1:]):
                if bb - a > best:
                    best, at = bb - a, a
        return best, at

    steady_gap, _ = longest_gap(t_start + 2000, t_forced)
    around = [longest_gap(t - 2000, t + 2000)[0] for t in natural]
    forced_gap, _ = longest_gap(t_forced - 1000, t_end)
    errors: dict = {}  # before the forced expiry
    forced_errors: dict = {}
    for v in per_acct.values():
        for t, s in v:
            if s.get("result") == "error":
                d = errors if t < t_forced else forced_errors
                d[s.get("code", "?")] = d.get(s.get("code", "?"), 0) + 1
    figures = {"accounts_with_role": n_acct, "credential_ttl_seconds": ttl, "run_seconds": seconds,
               "sessions_issued_during_run": len(natural),
               "longest_gap_ms_across_refresh": r(max(around), 1) if around else None,
               "longest_gap_ms_whole_run": r(steady_gap, 1),
               "normal_interval_ms": r(1000.0 / rate, 1),
               "longest_gap_ms_after_forced_expiry": r(forced_gap, 1),
               "emulator_expired_token_answers_before_forced_expiry": expired_before,
               "emulator_expired_token_answers_after_forced_expiry": expired_after - expired_before,
               "errors_by_code": errors, "errors_by_code_after_forced_expiry": forced_errors, "calls": sum(len(v) for v in per_acct.values()), "cpu": cpu_fig}
    b.record("refresh_gap", f"Credentials refresh: {n_acct} role accounts at {rate:g} calls/s, sessions of {ttl} s",
             figures,
             [goal("longest_gap_ms_across_refresh", figures["longest_gap_ms_across_refresh"], "<=", 200,
                   "ms (ours: 10 call intervals at 50 calls/s)"),
              goal("expired_token_answers_before_forced_expiry", expired_before, "<=", 0)],
             {"emulator": em.command, "config": str(cfg), "enqueue": enq_cmd, "worker": w.command,
              "worker_env": "AWS_ENDPOINT_URL_STS=<emulator> AWS_EC2_METADATA_DISABLED=true"},
             {"accounts": n_acct, "rate": rate, "burst": 5, "credential_ttl_s": ttl, "latency_ms": 20,
              "concurrency": 64, "forced_expiry": "POST /_emulator/sts/expire after run_seconds"},
             ["gap = the longest time between two consecutive calls sent (at_ms − duration_ms) in one "
              "account; across refresh = within ±2 s of a session being issued (GET /_emulator/sts, "
              "every 20 ms); the refresh starts before expiry (half the lifetime minus jitter for "
              "sessions this short) and calls go on with the old credentials meanwhile",
              "after_forced_expiry: every session expired at once (POST /_emulator/sts/expire), so "
              "calls fail with ExpiredToken, the worker drops them and retries once (that retry "
              "is not a step of its own; the emulator counts the ExpiredToken answers)"])


SCENARIOS = {"scale_accounts": scale_accounts, "fan_out": fan_out, "refresh_gap": refresh_gap}
EXTRA_TABLE = {
    "scale_accounts": ["worker_cpu_us_per_job_10_accounts", "worker_cpu_us_per_job_1000_accounts",
                       "redis_server_cpu_us_per_job_10_accounts", "redis_server_cpu_us_per_job_1000_accounts",
                       "worker_cpu_us_per_job_1000_configured_10_in_use",
                       "redis_server_cpu_us_per_job_1000_configured_10_in_use",
                       "redis_bytes_per_idle_lane_used_memory"],
    "fan_out": ["done_after_enqueue_seconds", "lower_bound_seconds", "sts_stats.issued"],
    "refresh_gap": ["sessions_issued_during_run", "longest_gap_ms_whole_run", "longest_gap_ms_after_forced_expiry"],
}
