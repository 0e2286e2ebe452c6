"""Plumbing of the multi-account scenarios of scripts/bench (issues 10 and 11): configs with many
accounts, `iam_calls` jobs of a known number of calls, a worker run in the background (not
--drain) that the scenario stops, and what the worker wrote to Redis (records, step logs).

Times: step records carry `at_ms` (the worker's clock when the call's answer was recorded) and
`duration_ms` (the call), so a call went out at about `at_ms - duration_ms`; job records carry
`created_at`, `started_at`, `finished_at` (Redis's clock, ms). Worker, Redis and this harness
share one machine and one clock.
"""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import lib
from lib import Failure


def account_toml(name: str, *, endpoint: str, rate: float, burst: float, account_id: str | None = None,
                 role: bool = False, source: str = "default") -> str:
    """One [accounts.NAME] section: the emulator's static key, or a role assumed from `source`."""
    lines = [f"[accounts.{name}]"]
    if role:
        lines += [f'account_id = "{account_id}"', 'role_arn = "arn:aws:iam::{account_id}:role/iamq"',
                  f'source = "{source}"']
    else:
        lines += ['credentials = "static"', f'access_key_id = "{lib.ACCESS_KEY_ID}"',
                  f'secret_access_key = "{lib.SECRET_ACCESS_KEY}"']
    lines += [f'endpoint = "{endpoint}"', 'region = "us-east-1"', f"rate = {rate}", f"burst = {burst}", ""]
    return "\n".join(lines)


def write_config(path: Path, *, redis_url: str, sections: list[str], extra: str = "") -> Path:
    text = (f'# written by iamq\'s bench harness\nredis_url = "{redis_url}"\nnamespace = "iamq"\n'
            f'metrics_listen = ""\n{extra}\n' + "\n".join(sections))
    path.write_text(text)
    return path


def iam_calls_job(account: str, calls: int, *, user: str, priority: str | None = None,
                  job_id: str | None = None) -> dict:
    """A job of exactly `calls` IAM calls (GetUser of one existing user; read-only, so it can be
    run again on the same emulator state)."""
    job = {"type": "iam_calls", "account": account,
           "steps": [{"action": "GetUser", "params": {"UserName": user}}] * calls}
    if priority:
        job["priority"] = priority
    if job_id:
        job["id"] = job_id
    return job


def jsonl(jobs) -> bytes:
    return ("\n".join(json.dumps(j, separators=(",", ":")) for j in jobs) + "\n").encode()


def enqueue(b, cfg: Path, jobs: list[dict], name: str = "enqueue") -> tuple[float, str]:
    """`iamq enqueue --file -`; returns (wall seconds, the command)."""
    _, wall, cmd = b.enqueue(cfg, jsonl(jobs), name=name)
    return wall, cmd


def xadd(client: lib.Resp, jobs: list[dict]) -> float:
    """Pushes jobs straight into the intake (one pipeline); returns the unix ms just before."""
    t = time.time() * 1000.0
    client.pipeline([("XADD", "iamq:jobs", "*", "job", json.dumps(j, separators=(",", ":"))) for j in jobs])
    return t


class BgWorker:
    """`iamq worker` (without --drain) in the background, stopped with SIGTERM by the scenario."""

    def __init__(self, b, cfg: Path, concurrency: int = 64, *extra, env: dict | None = None, drain=False):
        self.argv = [b.iamq, "--config", str(cfg), "--log-level", "warn", "worker",
                     "--concurrency", str(concurrency), *(["--drain"] if drain else []), *map(str, extra)]
        self.log_path = b.tmp / f"worker-{time.monotonic_ns()}.log"
        self.b = b
        self.logf = open(self.log_path, "wb")
        self.t0 = time.monotonic()
        self.proc = lib.Proc(self.argv, name="iamq worker", stdout=self.logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env)

    @property
    def command(self) -> str:
        return lib.shell_join(self.argv)

    def cpu(self) -> float:
        return self.proc.cpu_seconds()

    def check(self) -> None:
        if self.proc.poll() and self.proc.exit_code != 0:
            raise Failure(f"iamq worker exited {self.proc.exit_code}: {self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_bytes()[-800:].decode(errors="replace")

    def wait(self, timeout: float) -> float:
        """Waits for a --drain worker's exit; returns its wall seconds."""
        if not self.proc.wait(timeout):
            self.proc.kill()
            raise Failure(f"iamq worker did not drain within {timeout:.0f} s: {self.command}")
        self.logf.close()
        if self.proc.exit_code != 0:
            if self.proc.exit_code < 0:
                self.b.crashed = True
            raise Failure(f"iamq worker exited {self.proc.exit_code}: {self.tail()}")
        return time.monotonic() - self.t0

    def stop(self) -> None:
        self.proc.stop(grace=30)
        self.logf.close()
        code = self.proc.exit_code
        if code is not None and code < 0 and code != -15:
            self.b.crashed = True
            raise Failure(f"iamq worker died with signal {-code}: {self.tail()}")


def wait_until(pred, timeout: float, what: str, interval: float = 0.05, worker: BgWorker | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        if worker is not None:
            worker.check()
        time.sleep(interval)
    raise Failure(f"timed out after {timeout:.0f} s waiting for {what}")


def records(client: lib.Resp, ids: list[str], *fields: str) -> list[dict]:
    replies = client.pipeline([("HMGET", f"iamq:job:{i}", *fields) for i in ids])
    return [dict(zip(fields, rep)) for rep in replies]


def steps(client: lib.Resp, ids: list[str]) -> dict[str, list[dict]]:
    replies = client.pipeline([("LRANGE", f"iamq:job:{i}:steps", 0, -1) for i in ids], chunk=200)
    return {i: [json.loads(s) for s in (rep or [])] for i, rep in zip(ids, replies)}


def call_times(step_list: list[dict]) -> list[tuple[float, float]]:
    """(sent, answered) unix ms of each call of a step log."""
    return [(s["at_ms"] - s.get("duration_ms", 0), s["at_ms"]) for s in step_list]


def count_final(client: lib.Resp, ids: list[str]) -> int:
    recs = records(client, ids, "status")
    return sum(1 for x in recs if x["status"] in ("succeeded", "failed", "dead", "cancelled"))


class Cpu:
    """CPU seconds of the worker, redis-server and the emulator between start() and stop()."""

    def __init__(self, **procs):
        self.procs = procs
        self.t0 = time.monotonic()
        self.c0 = {k: p.cpu_seconds() for k, p in procs.items()}

    def stop(self) -> dict:
        wall = time.monotonic() - self.t0
        out = {f"{k}_cpu_seconds": round(p.cpu_seconds() - self.c0[k], 3) for k, p in self.procs.items()}
        out["wall_seconds"] = round(wall, 2)
        out["cores_used"] = round(sum(v for k, v in out.items() if k.endswith("_cpu_seconds")) / wall, 2) if wall else None
        return out
