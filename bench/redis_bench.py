"""Redis deployment figures for scripts/bench (issue 12): TLS against plain TCP, and the
longest consumption pause across a Sentinel failover."""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import emu
import lib
from figures import goal, r
from lib import Failure, log


class TlsRedis(lib.RedisServer):
    """redis-server with a plain port (the harness's own checks) and a TLS port (the worker),
    with a CA and server certificate made here with the openssl CLI."""

    def __init__(self, workdir: Path):
        super().__init__(workdir)
        self.tls_port = lib.free_port()
        self.use_tls = True
        d = self.workdir
        self.ca_file = d / "ca.crt"

        def sh(cmd: str) -> None:
            r = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True)
            if r.returncode != 0:
                raise Failure(f"openssl failed: {cmd}: {r.stderr.decode(errors='replace')[-400:]}")

        sh(f"openssl req -x509 -newkey rsa:2048 -nodes -keyout {d}/ca.key -out {d}/ca.crt -days 2 "
           f"-subj /CN=iamq-bench-ca")
        sh(f"printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > {d}/ext")
        sh(f"openssl req -newkey rsa:2048 -nodes -keyout {d}/server.key -out {d}/server.csr "
           f"-subj /CN=iamq-bench-redis")
        sh(f"openssl x509 -req -in {d}/server.csr -CA {d}/ca.crt -CAkey {d}/ca.key -CAcreateserial "
           f"-out {d}/server.crt -days 2 -extfile {d}/ext")

    @property
    def url(self) -> str:
        if self.use_tls:
            return f"rediss://127.0.0.1:{self.tls_port}/0"
        return f"redis://127.0.0.1:{self.port}/0"

    def config_extra(self) -> str:
        return f'redis_tls_ca_file = "{self.ca_file}"\n' if self.use_tls else ""

    def argv(self):
        d = self.workdir
        return super().argv() + ["--tls-port", str(self.tls_port), "--tls-cert-file", str(d / "server.crt"),
                                 "--tls-key-file", str(d / "server.key"), "--tls-ca-cert-file", str(self.ca_file),
                                 "--tls-auth-clients", "no"]


class CallGaps:
    """Samples the emulator's call count every 50 ms in a thread; the longest time in which no
    IAM call arrived, between the first call and the last."""

    def __init__(self, em):
        self.em = em
        self.samples: list[tuple[float, int]] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while self.running:
            try:
                self.samples.append((time.monotonic(), self.em.snapshot().calls))
            except (OSError, Failure, ValueError):
                pass
            time.sleep(0.05)

    def stop(self) -> None:
        self.running = False
        self.thread.join(5)

    def longest_pause(self, after: float) -> tuple[float, float]:
        """(seconds, start) of the longest stretch without a new call that ends after `after`."""
        best, start = 0.0, 0.0
        last_change_t, last_calls = None, None
        for t, calls in self.samples:
            if last_calls is None or calls != last_calls:
                if last_change_t is not None and t >= after and t - last_change_t > best:
                    best, start = t - last_change_t, last_change_t
                last_change_t, last_calls = t, calls
        return best, start


# ---------------------------------------------------------------- scenario 7: TLS against plain TCP


def tls(b) -> None:
    """The same redis-server on a plain and a TLS port: bulk enqueue rate and the worker's
    CPU per IAM call through each."""
    p = b.p
    saved = b.redis
    server = TlsRedis(b.tmp)
    server.start()
    b.redis = server  # flush/counts go to its plain port; config() takes server.url
    out: dict = {}
    commands: dict = {}
    try:
        with emu.EmulatorRun(b.tmp, users=p.tls_users, seed=p.random_seed, latency_ms=0) as em:
            users = em.user_names()
            for mode in ("plain", "tls"):
                server.use_tls = mode == "tls"
                b.flush()
                cfg = b.config(f"tls-{mode}", em.endpoint, rate=1e6, burst=1e6, extra=server.config_extra())
                data = lib.jobs_jsonl(f"bench-tls-{i:07d}" for i in range(p.tls_enqueue_jobs))
                _, wall, cmd = b.enqueue(cfg, data, name=f"enqueue {mode}")
                out[f"enqueue_jobs_per_second_{mode}"] = r(p.tls_enqueue_jobs / wall, 0)
                commands[f"enqueue_{mode}"] = cmd
                em.reset()
                run = b.run_iamq_batch(em, users, concurrency=p.concurrency, rate=1e6, burst=1e6,
                                          cfg_extra=server.config_extra())
                out[f"worker_cpu_ms_per_1000_calls_{mode}"] = run["worker_cpu_ms_per_1000_calls"]
                out[f"calls_{mode}"] = run["calls"]
                commands[f"worker_{mode}"] = run["commands"]["worker"]
                em.reset()
    finally:
        b.redis = saved
        server.stop()
    enq_ratio = (out["enqueue_jobs_per_second_tls"] / out["enqueue_jobs_per_second_plain"]
                 if out.get("enqueue_jobs_per_second_plain") else None)
    cpu_plain, cpu_tls = out.get("worker_cpu_ms_per_1000_calls_plain"), out.get("worker_cpu_ms_per_1000_calls_tls")
    cpu_ratio = cpu_tls / cpu_plain if cpu_plain and cpu_tls else None
    out["enqueue_tls_over_plain"] = r(enq_ratio, 3)
    out["worker_cpu_per_call_tls_over_plain"] = r(cpu_ratio, 3)
    b.record("tls", "Redis over TLS (rediss://) against plain TCP, same redis-server", out,
                [goal("enqueue_tls_over_plain", r(enq_ratio, 3), ">=", 0.7),
                 goal("worker_cpu_per_call_tls_over_plain", r(cpu_ratio, 3), "<=", 1.15)],
                commands,
                {"enqueue_jobs": p.tls_enqueue_jobs, "users": p.tls_users, "concurrency": p.concurrency},
                ["one redis-server with --port and --tls-port; enqueue rate = jobs ÷ wall time of "
                 "`iamq enqueue --file -`; worker CPU per call = utime+stime of a --drain worker ÷ "
                 "emulator calls (emulator latency 0, so Redis's share is as large as it gets)"])

# ---------------------------------------------------------------- scenario 8: Sentinel failover

def failover(b) -> None:
    """A batch through Sentinel; the master is SIGKILLed a third of the way in. Figure: the
    longest time without an IAM call from the kill on (the consumption pause)."""
    import chaos  # the harness's Sentinel deployment (master + replica + 3 sentinels)
    p = b.p
    dep = chaos.SentinelRedis(b.tmp)
    dep.start()
    rate = 300.0
    with emu.EmulatorRun(b.tmp, users=p.failover_users, seed=p.random_seed, latency_ms=5) as em:
        users = em.user_names()
        cfg = lib.write_config(b.tmp / "failover.toml", redis_url=dep.url, endpoint=em.endpoint,
                               rate=rate, burst=30, extra='metrics_listen = ""\nconnect_timeout = "2s"\n')
        _, _, enq_cmd = b.enqueue(cfg, lib.jobs_jsonl(users))
        argv = b.worker_argv(cfg, 64)
        gaps = CallGaps(em)
        state = {"killed_at": None, "down": None}

        def sample(t: float) -> None:
            if state["killed_at"] is None and em.snapshot().calls > 0 and t > 0:
                c = dep.client()
                try:
                    done = int(c.call("HGET", "iamq:counts", "succeeded") or 0)
                finally:
                    c.close()
                if done >= len(users) // 3:
                    state["killed_at"] = time.monotonic()
                    state["down"] = dep.restart()

        try:
            proc, wall = b.run_worker(argv, timeout=300, sample=sample)
        finally:
            gaps.stop()
        if state["killed_at"] is None:
            raise Failure("the batch finished before the failover")
        pause, start = gaps.longest_pause(state["killed_at"])
        c = dep.client()
        try:
            counts = lib.hash_of(c.call("HGETALL", "iamq:counts"))
        finally:
            c.close()
    figures = {"jobs": len(users), "job_counts": {k: int(v) for k, v in counts.items()},
               "longest_pause_seconds": r(pause, 2),
               "pause_started_after_kill_seconds": r(start - state["killed_at"], 2),
               "new_master_announced_after_seconds": r(state["down"], 2),
               "wall_seconds": r(wall, 1)}
    b.record("failover", "Sentinel failover (SIGKILL of the master) in the middle of a batch", figures,
                [goal("jobs_lost", len(users) - int(counts.get("succeeded", 0)), "<=", 0)],
                {"worker": lib.shell_join(argv), "enqueue": enq_cmd, "redis": dep.url},
                {"users": len(users), "rate": rate, "down_after_ms": 1000},
                ["pause = longest run of 50 ms samples with no new emulator call, from the kill on; "
                 "Sentinel's down-after-milliseconds is 1000 here, so most of it is detection + election"])
