"""The IAM emulator as scripts/bench and scripts/chaos use it.

Started with `--generate-users N --random-seed S` and its faults set through the admin
endpoint `/_emulator/faults` (the JSON form of tests/iam_emulator/faults.hpp), so a reset
(`/_emulator/reset`: start-up state, start-up faults, empty statistics) is followed by the
same fault document again.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

import lib


@dataclass
class Snapshot:
    calls: int          # IAM calls answered (any code)
    throttled: int      # of which Throttling
    peak_rate: int      # highest count in any one-second window since start/reset
    cpu: float          # emulator process CPU seconds (user+sys)
    by_action: dict


def stats_total(stats: dict) -> int:
    if "total_calls" in stats:
        return int(stats["total_calls"])
    return sum(sum(codes.values()) for codes in stats_calls(stats).values())


def stats_calls(stats: dict) -> dict:
    """action → code → count."""
    c = stats.get("calls") or stats.get("calls_by_action") or {}
    return c if isinstance(c, dict) else {}


def stats_peak(stats: dict) -> int:
    for k in ("max_calls_per_second", "highest_rate", "max_rate", "peak_calls_per_second"):
        if k in stats:
            return int(stats[k])
    return 0


def stats_mutations(stats: dict) -> dict:
    """user → action → code → count."""
    m = stats.get("mutating_calls_by_user") or stats.get("mutations_by_user") or {}
    return m if isinstance(m, dict) else {}


def code_count(stats: dict, code: str) -> int:
    return sum(int(codes.get(code, 0)) for codes in stats_calls(stats).values())


class EmulatorRun:
    """Context manager: a fresh emulator for one scenario, stopped at exit."""

    def __init__(self, tmp: Path, *, users: int, seed: int, latency_ms: float = 0,
                 jitter_ms: float = 0, rate_limit: float = 0, rate_burst: float = 0,
                 unmodifiable_window_s: float = 0, actions: dict | None = None,
                 extra_flags=()):
        self.tmp = tmp
        self.flags = ["--generate-users", str(users), "--random-seed", str(seed), *extra_flags]
        faults: dict = {"latency_ms": latency_ms, "jitter_ms": jitter_ms,
                        "unmodifiable_window_s": unmodifiable_window_s}
        if rate_limit:
            faults["rate_limit"] = {"rate": rate_limit, "burst": rate_burst or rate_limit}
        if actions:
            faults["actions"] = actions
        self.faults = faults
        self.em: lib.Emulator | None = None

    def __enter__(self) -> "EmulatorRun":
        log_path = self.tmp / f"emulator-{time.monotonic_ns()}.log"
        self.em = lib.Emulator(self.flags, log_path=log_path)
        self.em.set_faults(self.faults)
        return self

    def __exit__(self, *exc) -> None:
        if self.em:
            self.em.stop()
            code = self.em.proc.exit_code
            if code is not None and code < 0 and code != -15 and code != -9:
                raise lib.Failure(f"iamq-emulator died with signal {-code}")

    @property
    def endpoint(self) -> str:
        return self.em.endpoint

    @property
    def command(self) -> str:
        """How to start the same emulator by hand (faults included)."""
        return (f"{self.em.command}  # then: curl -X POST {self.endpoint}/_emulator/faults "
                f"-d '{json.dumps(self.faults, separators=(',', ':'))}'")

    @property
    def proc(self) -> lib.Proc:
        return self.em.proc

    def reset(self) -> None:
        self.em.reset()
        self.em.set_faults(self.faults)

    def set_faults(self, faults: dict) -> None:
        self.faults = faults
        self.em.set_faults(faults)

    def stats(self) -> dict:
        return self.em.stats()

    def state(self) -> dict:
        return self.em.state()

    def snapshot(self) -> Snapshot:
        s = self.em.stats()
        return Snapshot(calls=stats_total(s), throttled=code_count(s, "Throttling"),
                        peak_rate=stats_peak(s), cpu=self.em.cpu_seconds(), by_action=stats_calls(s))

    def users(self) -> list[dict]:
        st = self.em.state()
        for acct in st.get("accounts", []):
            if acct.get("id") == lib.ACCOUNT_ID:
                return acct.get("users", [])
        return []

    def user_names(self) -> list[str]:
        return [u["name"] for u in self.users()]


def run_load(em: EmulatorRun, *, calls: int, concurrency: int, user: str) -> dict:
    """Scenario 5: drives the emulator with build/bin/iamq-emulator-load (signed GetUser calls
    over keep-alive connections) and measures the emulator's calls/s and its CPU per 1,000
    calls (from /proc/PID/stat)."""
    load = lib.binary("iamq-emulator-load")
    argv = [str(load), "--host", "127.0.0.1", "--port", str(em.em.port), "--connections", str(concurrency),
            "--calls", str(calls), "--action", "GetUser", "--param", f"UserName={user}"]
    before = em.snapshot()
    t0 = time.monotonic()
    proc, out, err = lib.run(argv, name="iamq-emulator-load", timeout=300)
    wall = time.monotonic() - t0
    after = em.snapshot()
    if proc.exit_code != 0:
        raise lib.Failure(f"iamq-emulator-load exited {proc.exit_code}: {err[-500:].decode(errors='replace')}")
    calls = after.calls - before.calls
    cpu = after.cpu - before.cpu
    reported = parse_load_output(out.decode(errors="replace"))
    figures = {
        "calls": calls,
        "wall_seconds": round(wall, 3),
        "calls_per_second": round(calls / (reported.get("seconds") or wall), 1),
        "load_tool_calls_per_second": reported.get("calls_per_s"),
        "emulator_cpu_seconds": round(cpu, 3),
        "cpu_ms_per_1000_calls": round(cpu * 1e6 / calls, 2) if calls else None,
        # what one core of this machine serves when the emulator has it to itself
        "calls_per_emulator_cpu_second": round(calls / cpu, 0) if cpu else None,
        "emulator_cores_used": round(cpu / (reported.get("seconds") or wall), 2),
        "load_tool_cpu_seconds": round(proc.cpu_seconds(), 3),
        "load_tool_report": reported,
    }
    return {"figures": figures, "command": lib.shell_join(argv),
            "notes": ["calls counted by the emulator; emulator CPU = /proc/PID/stat utime+stime "
                      "delta; the load tool runs on the same 2 cores and competes for them"]}


def parse_load_output(text: str) -> dict:
    """The load tool's own report: JSON if it prints one, else `key: number` / `key=number` pairs."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    out = {}
    for m in re.finditer(r"([A-Za-z_/ ]+?)\s*[:=]\s*([0-9.]+)", text):
        out[m.group(1).strip().replace(" ", "_")] = float(m.group(2))
    return out
