#!/usr/bin/python3
"""scripts/chaos: an offboarding batch under fire, then the invariants that must still hold.

    scripts/chaos [--quick] [--seed N] [--jobs N] [--kills N] [--redis-restarts N] [--sentinel]

Starts redis-server (AOF on) and iamq-emulator (faults on: 5xx, HTML 503s, dropped
connections, EntityTemporarilyUnmodifiable, ConcurrentModification, 5-15 ms latency),
enqueues a batch of offboarding jobs (2,000; --quick 300), runs two `iamq worker`s at once
throughout under a fleet rate limit kept in Redis (fleet_rate 300/s, fleet_burst 30), SIGKILLs
a random worker at random moments and restarts it (12 times; --quick 4), restarts
redis-server on the same port (twice; --quick once), waits (bounded) for the batch to finish,
then checks and prints each invariant. With --sentinel, Redis is a master + replica (AOF on)
behind three sentinels (`redis-sentinel://` URL) and each "redis restart" is a failover
instead: SIGKILL of the current master, the sentinels promote the replica, the killed node
comes back as the new master's replica (ready for the next failover). The invariants: every job final and the queue empty; no job record
missing; every user of the batch (and its virtual MFA devices) gone from the emulator; no job
`succeeded` while its user exists; at most 5 DeleteUser calls per user; the emulator's highest
one-second count within fleet rate + burst (+ 100 ms of dispatch jitter at the fleet rate,
the strict figure printed beside it); workers exited only when killed or told to stop; the
planned chaos happened.
Exit status: 0 when every invariant holds, 1 naming the first broken one (logs kept), 2 when
something could not start. Self-stopping: under 10 minutes (--quick: under 2); every child
dies with it.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lib  # noqa: E402
from lib import Failure, log  # noqa: E402
import emu  # noqa: E402

NS = "iamq"
FINAL = {"succeeded", "failed", "dead"}
MASTER = "iamq-master"


class SentinelNode(lib.RedisServer):
    """A data node of the Sentinel deployment: AOF on, optionally a replica of another."""

    def __init__(self, workdir: Path, replicaof: int | None = None):
        super().__init__(workdir, appendonly=True)
        self.replicaof = replicaof

    def argv(self):
        a = super().argv() + ["--repl-diskless-sync-delay", "0"]
        if self.replicaof:
            a += ["--replicaof", "127.0.0.1", str(self.replicaof)]
        return a


class SentinelRedis:
    """Master + replica + 3 sentinels (quorum 2, down-after 1 s), with the interface the chaos
    run uses of lib.RedisServer: url, client() (the current master), restart() (a failover)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.nodes = [SentinelNode(workdir)]
        self.sentinel_ports: list[int] = []
        self.sentinels: list[lib.Proc] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis-sentinel://{hosts}/0#{MASTER}"

    def argv(self):
        return ["master", *self.nodes[0].argv(), "+ a replica + 3 × redis-server sentinel.conf --sentinel"]

    def start(self) -> None:
        self.nodes[0].start()
        self.nodes.append(SentinelNode(self.workdir, replicaof=self.nodes[0].port))
        self.nodes[1].start()
        for i in range(3):
            port = lib.free_port()
            d = self.workdir / f"sentinel-{i}"
            d.mkdir(parents=True, exist_ok=True)
            conf = d / "sentinel.conf"
            conf.write_text(f"port {port}\nbind 127.0.0.1\ndaemonize no\ndir {d}\n"
                            f"logfile {d / 'sentinel.log'}\nprotected-mode no\n"
                            f"sentinel monitor {MASTER} 127.0.0.1 {self.nodes[0].port} 2\n"
                            f"sentinel down-after-milliseconds {MASTER} 1000\n"
                            f"sentinel failover-timeout {MASTER} 5000\n")
            self.sentinels.append(lib.Proc(["redis-server", str(conf), "--sentinel"], name=f"sentinel{i}",
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self.sentinel_ports.append(port)
        self.wait_ready(30)

    def sentinel_call(self, *args):
        for port in self.sentinel_ports:
            try:
                r = lib.Resp(port, timeout=2)
                try:
                    return r.call(*args)
                finally:
                    r.close()
            except (OSError, lib.RedisError):
                continue
        return None

    def master_port(self) -> int:
        addr = self.sentinel_call("SENTINEL", "get-master-addr-by-name", MASTER)
        return int(addr[1]) if addr else 0

    def wait_ready(self, timeout: float) -> None:
        """The replica is in sync and every sentinel knows it and the two others (needed for
        the next failover)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                r = lib.Resp(self.master_port(), timeout=2)
                try:
                    if "state=online" in str(r.call("INFO", "replication")):
                        break
                finally:
                    r.close()
            except (OSError, lib.RedisError):
                pass
            if time.monotonic() > deadline:
                raise Failure("the replica did not come in sync with the master")
            time.sleep(0.1)
        for port in self.sentinel_ports:
            while True:
                try:
                    r = lib.Resp(port, timeout=2)
                    try:
                        info = lib.hash_of(r.call("SENTINEL", "master", MASTER))
                    finally:
                        r.close()
                    if int(info.get("num-slaves", 0)) >= 1 and int(info.get("num-other-sentinels", 0)) >= 2 \
                            and "s_down" not in str(info.get("flags", "")):
                        break
                except (OSError, lib.RedisError):
                    pass
                if time.monotonic() > deadline:
                    raise Failure(f"the sentinel on port {port} did not see a replica and the other sentinels")
                time.sleep(0.2)

    def node_on(self, port: int) -> SentinelNode:
        return next(n for n in self.nodes if n.port == port)

    def client(self) -> lib.Resp:
        return lib.Resp(self.master_port())

    def restart(self) -> float:
        """A failover: SIGKILL the master, wait for the sentinels to promote the replica, bring the
        killed node back as its replica. Returns the seconds until the new master was announced."""
        t0 = time.monotonic()
        old = self.node_on(self.master_port())
        new = next(n for n in self.nodes if n is not old)
        old.proc.kill()
        while self.master_port() != new.port:
            if time.monotonic() - t0 > 60:
                raise Failure("the sentinels did not fail over within 60 s")
            time.sleep(0.05)
        down = time.monotonic() - t0
        old.replicaof = new.port
        old.start()
        self.wait_ready(60)
        return down


def say(msg: str) -> None:
    print(f"chaos: {msg}", flush=True)


class Worker:
    """One of the two worker slots; restarted after every kill."""

    def __init__(self, slot: int, argv, tmp: Path):
        self.slot = slot
        self.argv = argv
        self.tmp = tmp
        self.proc: lib.Proc | None = None
        self.generation = 0
        self.unexpected: list[str] = []  # exits we did not cause

    def start(self) -> None:
        self.generation += 1
        log_path = self.tmp / f"worker{self.slot}-{self.generation}.log"
        with open(log_path, "wb") as f:
            self.proc = lib.Proc(self.argv, name=f"worker{self.slot}", stdout=f,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.log_path = log_path

    def check(self) -> None:
        """Notices a worker that exited on its own, records it and starts it again."""
        if self.proc and self.proc.poll():
            code = self.proc.exit_code
            tail = self.log_path.read_bytes()[-400:].decode(errors="replace").strip().replace("\n", " | ")
            self.unexpected.append(f"worker{self.slot} (gen {self.generation}) exited {code}: {tail}")
            log(f"chaos:   worker{self.slot} exited on its own ({code}); restarting")
            self.start()

    def kill(self) -> None:
        self.proc.signal_group(signal.SIGKILL)
        self.proc.wait(10)


class Chaos:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.rng = random.Random(args.seed)
        self.jobs = args.jobs or (300 if self.quick else 2000)
        self.kills_planned = args.kills if args.kills is not None else (4 if self.quick else 12)
        self.redis_restarts_planned = (args.redis_restarts if args.redis_restarts is not None
                                       else (1 if self.quick else 2))
        self.deadline_s = 95 if self.quick else 540  # whole run, start-up included
        self.fleet_rate = 300.0
        self.fleet_burst = 30.0
        # The fleet limiter paces reservations by Redis's clock; the emulator counts arrivals.
        # Between the two lie the worker's timer, its event loop and the emulator's accept, all
        # delayed unevenly on a loaded 2-core machine, which packs calls reserved up to that
        # much apart into one second. Allowed: 100 ms of such dispatch jitter at the fleet
        # rate. The strict figure (rate + burst) is printed beside it.
        self.dispatch_jitter_s = 0.1
        # ~5 % of DeleteUser calls get an injected fault (each retried), and a job killed after
        # its DeleteUser but before recording it calls again (NoSuchEntity): 1-3 is normal.
        self.delete_user_bound = 5
        self.t_start = time.monotonic()
        self.tmp = lib.tempdir("iamq-chaos-")
        self.results: list[tuple[str, bool, str]] = []
        self.kills = 0
        self.redis_restarts = 0
        self.timeline: list[tuple[float, str]] = []  # (seconds since the workers started, event)
        self.peaks: list[tuple[float, int, int]] = []  # (seconds, emulator total calls, peak 1 s rate)
        self.sampling = False

    def elapsed(self) -> float:
        return time.monotonic() - self.t_start

    # ------------------------------------------------------------ setup

    def setup(self) -> None:
        self.redis = SentinelRedis(self.tmp) if self.args.sentinel else lib.RedisServer(self.tmp, appendonly=True)
        self.redis.start()
        faults = {"*": {"unmodifiable": 0.02, "concurrent_modification": 0.01, "service_failure": 0.01,
                        "html_503": 0.005, "drop_connection": 0.005}}
        self.em = emu.EmulatorRun(self.tmp, users=self.jobs + 20, seed=self.args.seed, latency_ms=5,
                                  jitter_ms=10, actions=faults)
        self.em.__enter__()
        state_users = self.em.users()
        self.users = [u["name"] for u in state_users][: self.jobs]
        if len(self.users) < self.jobs:
            raise Failure(f"the emulator generated {len(self.users)} users, wanted {self.jobs}")
        # Virtual MFA devices of the batch's users (they must be deleted with their users).
        batch = set(self.users)
        self.virtual_serials = {s for u in state_users if u["name"] in batch
                                for s in (d.get("serial", "") for d in u.get("mfa_devices", []))
                                if s.startswith("arn:") and ":mfa/" in s}
        extra = f"""metrics_listen = ""
visibility_timeout = "3s"
delay_threshold = "2s"
shutdown_timeout = "2s"
request_timeout = "5s"
connect_timeout = "2s"
max_attempts = 40
fleet_rate = {self.fleet_rate}
fleet_burst = {self.fleet_burst}
[backoff.throttled]
base = "100ms"
cap = "2s"
max_attempts = 30
[backoff.transient]
base = "100ms"
cap = "2s"
max_attempts = 30
[backoff.concurrent_modification]
base = "100ms"
cap = "2s"
max_attempts = 30
[backoff.unmodifiable]
base = "200ms"
cap = "3s"
max_attempts = 30
"""
        self.cfg = lib.write_config(self.tmp / "chaos.toml", redis_url=self.redis.url,
                                    endpoint=self.em.endpoint, rate=1000, burst=100, extra=extra)
        iamq = str(lib.binary("iamq"))
        self.iamq = iamq
        data = lib.jobs_jsonl(self.users, id_prefix="chaos-")
        self.ids = [f"chaos-{i:06d}" for i in range(len(self.users))]
        argv = [iamq, "--config", str(self.cfg), "enqueue", "--file", "-"]
        proc, out, err = lib.run(argv, name="iamq enqueue", input_bytes=data, timeout=120)
        if proc.exit_code != 0:
            raise Failure(f"iamq enqueue exited {proc.exit_code}: {err[-500:].decode(errors='replace')}")
        self.worker_argv = [iamq, "--config", str(self.cfg), "--log-level", "info", "worker",
                            "--concurrency", "32"]
        self.workers = [Worker(i, self.worker_argv, self.tmp) for i in (1, 2)]
        say(f"seed {self.args.seed}; {self.jobs} jobs; 2 workers: {lib.shell_join(self.worker_argv)}")
        say(f"emulator: {self.em.command}")
        say(f"redis: {lib.shell_join(self.redis.argv())}")

    # ------------------------------------------------------------ the run

    def progress(self) -> tuple[int, dict]:
        c = self.redis.client()
        try:
            counts = lib.hash_of(c.call("HGETALL", f"{NS}:counts"))
        finally:
            c.close()
        done = sum(int(counts.get(s, 0)) for s in FINAL)
        return done, counts

    def safe_progress(self) -> tuple[int | None, dict]:
        try:
            return self.progress()
        except (OSError, lib.RedisError):
            return None, {}

    def sample(self) -> None:
        """Background thread: the emulator's peak one-second rate over time (to say when it was reached)."""
        last_peak = -1
        while self.sampling:
            try:
                st = self.em.stats()
                t = time.monotonic() - self.t0
                peak = emu.stats_peak(st)
                if peak != last_peak:
                    self.peaks.append((t, emu.stats_total(st), peak))
                    last_peak = peak
            except (OSError, Failure, ValueError):
                pass
            time.sleep(1.0)

    def event(self, what: str) -> None:
        self.timeline.append((time.monotonic() - self.t0, what))

    def run(self) -> None:
        self.t0 = time.monotonic()
        self.sampling = True
        sampler = threading.Thread(target=self.sample, daemon=True)
        sampler.start()
        for w in self.workers:
            w.start()
        self.event("workers started")
        # Expected duration ~ calls / fleet rate; the chaos happens in the first half of it.
        est = max(8.0, self.jobs * 16 / self.fleet_rate)
        window = est * 0.5
        n_events = self.kills_planned + self.redis_restarts_planned
        kinds = ["kill"] * self.kills_planned + ["redis"] * self.redis_restarts_planned
        # Redis restarts evenly spread, kills at random moments around them.
        times = sorted(self.rng.uniform(1.5, window) for _ in range(self.kills_planned))
        redis_times = [window * (i + 1) / (self.redis_restarts_planned + 1)
                       for i in range(self.redis_restarts_planned)]
        events = sorted([(t, "kill") for t in times] + [(t, "redis") for t in redis_times])
        assert len(events) == n_events and sorted(kinds) == sorted(k for _, k in events)
        say(f"{self.kills_planned} kills and {self.redis_restarts_planned} redis restarts within "
            f"{window:.0f} s (estimated batch {est:.0f} s at {self.fleet_rate:g} calls/s)")
        for at, kind in events:
            while time.monotonic() - self.t0 < at:
                for w in self.workers:
                    w.check()
                time.sleep(0.05)
            done, _ = self.safe_progress()
            if done is not None and done >= self.jobs:
                say(f"the batch finished before all the chaos happened (at {time.monotonic() - self.t0:.1f} s)")
                break
            if kind == "kill":
                w = self.rng.choice(self.workers)
                w.check()
                w.kill()
                self.kills += 1
                time.sleep(self.rng.uniform(0.0, 0.5))
                w.start()
                self.event(f"SIGKILL worker{w.slot} (kill {self.kills}) and restart")
                log(f"chaos:   {time.monotonic() - self.t0:6.1f} s  SIGKILL worker{w.slot} (kill {self.kills}), "
                    f"restarted; {done} jobs final")
            else:
                self.event("redis-server stopping")
                down = self.redis.restart()
                self.redis_restarts += 1
                self.event(f"redis-server back (down {down:.2f} s)")
                what = "Sentinel failover (master SIGKILLed, new master announced after" if self.args.sentinel \
                    else "redis-server restarted (down"
                log(f"chaos:   {time.monotonic() - self.t0:6.1f} s  {what} {down:.2f} s); "
                    f"{done} jobs final")
        say(f"chaos done after {time.monotonic() - self.t0:.1f} s: {self.kills} kills, "
            f"{self.redis_restarts} redis restarts; waiting for the batch")
        # Wait for every job to be final and the queue empty, bounded.
        last = -1
        while self.elapsed() < self.deadline_s:
            for w in self.workers:
                w.check()
            done, counts = self.safe_progress()
            if done is not None and done >= self.jobs and self.queue_empty():
                break
            if done != last:
                last = done
                if done is not None and int(time.monotonic()) % 5 == 0:
                    log(f"chaos:   {done}/{self.jobs} final {counts}")
            time.sleep(0.25)
        self.batch_seconds = time.monotonic() - self.t0
        self.event("batch final" if self.elapsed() < self.deadline_s else "deadline reached")
        self.sampling = False
        sampler.join(10)
        # Both workers told to stop at once, each given the grace its shutdown_timeout allows.
        for w in self.workers:
            w.check()
            w.proc.signal_group(signal.SIGTERM)
        for w in self.workers:
            if not w.proc.wait(10):
                w.proc.kill()
                w.unexpected.append(f"worker{w.slot} did not exit within 10 s of SIGTERM")
            elif w.proc.exit_code != 0:
                w.unexpected.append(f"worker{w.slot} exited {w.proc.exit_code} on SIGTERM (expected 0)")

    def queue_empty(self) -> bool:
        c = self.redis.client()
        try:
            xlen = c.call("XLEN", f"{NS}:jobs")
            delayed = c.call("ZCARD", f"{NS}:delayed")
            return int(xlen) == 0 and int(delayed) == 0
        except (OSError, lib.RedisError):
            return False
        finally:
            c.close()

    # ------------------------------------------------------------ invariants

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.results.append((name, ok, detail))
        say(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}")

    def peak_context(self, peak: int) -> str:
        """When the peak was first seen (sampled every second) and the chaos event just before it."""
        when = next((t for t, _, p in self.peaks if p >= peak), None)
        if when is None:
            return ""
        before = [(t, e) for t, e in self.timeline if t <= when]
        near = f"; last event before it: {before[-1][1]} at {before[-1][0]:.1f} s" if before else ""
        return f"; reached by {when:.1f} s after the workers started{near}"

    def invariants(self) -> None:
        c = self.redis.client()
        replies = c.pipeline([("HGET", f"{NS}:job:{i}", "status") for i in self.ids])
        xlen = c.call("XLEN", f"{NS}:jobs")
        delayed = c.call("ZCARD", f"{NS}:delayed")
        dead = c.call("XLEN", f"{NS}:dead")
        try:
            pending = c.call("XPENDING", f"{NS}:jobs", "workers")[0]
        except lib.RedisError:
            pending = 0
        errors = {}
        failed_ids = [i for i, s in zip(self.ids, replies) if s in ("failed", "dead")]
        for i in failed_ids[:5]:
            errors[i] = (c.call("HGET", f"{NS}:job:{i}", "error") or "")[:200]
        c.close()
        status = dict(zip(self.ids, replies))
        by_status: dict[str, int] = {}
        for s in replies:
            by_status[str(s)] = by_status.get(str(s), 0) + 1
        missing = [i for i, s in status.items() if s is None]
        not_final = [i for i, s in status.items() if s is not None and s not in FINAL]

        # 1. every job reached a final state, nothing left queued
        self.check("every job reached a final state",
                   not not_final and not missing and int(xlen) == 0 and int(delayed) == 0 and int(pending or 0) == 0,
                   f"{self.jobs - len(not_final) - len(missing)}/{self.jobs} final {by_status}; "
                   f"stream {xlen}, pending {pending}, delayed {delayed}, dead letters {dead}"
                   + (f"; not final e.g. {not_final[:3]}" if not_final else ""))
        # 2. none missing from Redis
        self.check("no job is missing from Redis", not missing,
                   f"{len(self.ids) - len(missing)}/{len(self.ids)} records present"
                   + (f"; missing e.g. {missing[:5]}" if missing else ""))

        state = self.em.state()
        acct = next((a for a in state.get("accounts", []) if a.get("id") == lib.ACCOUNT_ID), {})
        present = {u["name"] for u in acct.get("users", [])}
        left_serials = {d.get("serial") for d in acct.get("virtual_mfa_devices", [])}
        for u in acct.get("users", []):
            left_serials |= {d.get("serial") for d in u.get("mfa_devices", [])}
        user_of = dict(zip(self.ids, self.users))
        still = [u for u in self.users if u in present]
        serials_left = sorted(self.virtual_serials & left_serials)
        # 3. each user the batch offboarded is gone (and its virtual MFA devices)
        detail = (f"{len(self.users) - len(still)}/{len(self.users)} users gone, "
                  f"{len(self.virtual_serials) - len(serials_left)}/{len(self.virtual_serials)} virtual MFA devices gone")
        if still:
            detail += "; still there e.g. " + ", ".join(
                [f"{u} (job {status[i]})" for i, u in user_of.items() if u in present][:3])
        if errors:
            detail += f"; errors: {json.dumps(errors)[:600]}"
        self.check("each user the batch offboarded is gone in the emulator", not still and not serials_left, detail)
        # 4. no job succeeded while its user still exists
        bad = [i for i, u in user_of.items() if status[i] == "succeeded" and u in present]
        self.check("no job is succeeded while its user still exists", not bad,
                   f"{sum(1 for s in status.values() if s == 'succeeded')} succeeded, {len(bad)} of them with the user present"
                   + (f": {bad[:5]}" if bad else ""))
        # 5. DeleteUser calls per user
        stats = self.em.stats()
        muts = emu.stats_mutations(stats)
        per_user = {u: sum(int(n) for n in muts.get(u, {}).get("DeleteUser", {}).values()) for u in self.users}
        worst = max(per_user.values()) if per_user else 0
        over = {u: n for u, n in per_user.items() if n > self.delete_user_bound}
        hist: dict[int, int] = {}
        for n in per_user.values():
            hist[n] = hist.get(n, 0) + 1
        self.check(f"DeleteUser calls per user <= {self.delete_user_bound}", not over and bool(muts),
                   f"max {worst}; users by number of DeleteUser calls {dict(sorted(hist.items()))}"
                   + (f"; over: {dict(list(over.items())[:5])}" if over else "")
                   + ("" if muts else "; the emulator reported no mutating calls per user"))
        # 6. the fleet rate held
        peak = emu.stats_peak(stats)
        strict = self.fleet_rate + self.fleet_burst
        slack = math.ceil(self.fleet_rate * self.dispatch_jitter_s)
        bound = strict + slack
        self.check("the emulator's highest one-second rate stayed under the fleet rate (+ burst)",
                   0 < peak <= bound,
                   f"highest {peak} calls in one second; fleet rate {self.fleet_rate:g}/s + burst "
                   f"{self.fleet_burst:g} = {strict:g} (strictly {'met' if peak <= strict else 'exceeded by ' + str(int(peak - strict))}), "
                   f"+ {slack} for {self.dispatch_jitter_s * 1000:g} ms dispatch jitter = {bound:g}"
                   f"{self.peak_context(peak)}")
        # 7. workers only stopped when told
        unexpected = [u for w in self.workers for u in w.unexpected]
        self.check("workers exited only when killed or told to stop", not unexpected,
                   f"{sum(w.generation for w in self.workers)} worker processes started"
                   + (f"; {len(unexpected)} unexpected: {unexpected[:3]}" if unexpected else ""))
        # 8. the chaos really happened
        self.check("the planned chaos happened during the batch",
                   self.kills >= self.kills_planned and self.redis_restarts >= self.redis_restarts_planned,
                   f"{self.kills}/{self.kills_planned} SIGKILLs, {self.redis_restarts}/{self.redis_restarts_planned} "
                   f"{'Sentinel failovers (SIGKILL of the master)' if self.args.sentinel else 'redis restarts (AOF)'}, "
                   f"2 workers throughout; calls {emu.stats_total(stats)} "
                   f"{summarize_codes(stats)}")


def summarize_codes(stats: dict) -> str:
    codes: dict[str, int] = {}
    for per in emu.stats_calls(stats).values():
        for code, n in per.items():
            codes[code] = codes.get(code, 0) + int(n)
    return json.dumps(dict(sorted(codes.items(), key=lambda kv: -kv[1])))


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/chaos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller batch, fewer kills, under 2 minutes")
    ap.add_argument("--seed", type=int, default=None, help="random seed (kills, emulator faults); printed")
    ap.add_argument("--jobs", type=int, default=None, help="batch size (default 2000; --quick 300)")
    ap.add_argument("--kills", type=int, default=None, help="worker SIGKILLs (default 12; --quick 4)")
    ap.add_argument("--redis-restarts", type=int, default=None,
                    help="redis-server restarts (default 2; --quick 1); with --sentinel, failovers")
    ap.add_argument("--sentinel", action="store_true",
                    help="Redis behind Sentinel (master + replica + 3 sentinels); each restart is a failover")
    args = ap.parse_args()
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(1, 1 << 31)
    lib.install_cleanup()
    ch = Chaos(args)
    try:
        ch.setup()
        ch.run()
        ch.invariants()
    except Failure as e:
        say(f"could not run: {e}")
        return 2
    finally:
        lib.stop_all()
    passed = sum(1 for _, ok, _ in ch.results if ok)
    failed = [n for n, ok, _ in ch.results if not ok]
    say(f"{passed} passed, {len(failed)} failed ({ch.elapsed():.0f} s; replay with --seed {args.seed}"
        f"{' --quick' if args.quick else ''})")
    if failed:
        os.environ["IAMQ_KEEP_TMP"] = "1"  # keep the worker logs for a look
        say(f"first broken invariant: {failed[0]} (logs kept in {ch.tmp})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
