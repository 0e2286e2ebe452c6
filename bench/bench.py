#!/usr/bin/python3
"""scripts/bench: iamq's figures against the goals of issue 6, on this machine.

    scripts/bench [--quick] [--json-only] [--scenario NAME[,NAME…]] [--latency-ms MS]

Scenarios (default: all, in this order): latency, rate, cpu, queue, emulator, alternative (issue
6, here); tls, failover (issue 12, bench/redis_bench.py); fairness, many_accounts,
urgent_behind_bulk, time_to_revoke (issue 10, bench/scheduling.py); scale_accounts (issue 10),
fan_out, refresh_gap (issue 11, bench/accounts_bench.py).
Each prints one JSON object on a line of stdout (figures, the goal beside each with pass/miss,
the exact commands, the machine), then a table. Progress goes to stderr. Never asserts a
time: the exit status is 0 unless a program crashed, could not be started, or a scenario
could not finish (each such scenario prints {"scenario": …, "error": …} instead of figures).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lib  # noqa: E402
import redis_bench  # noqa: E402
from lib import Failure, log  # noqa: E402
import emu  # noqa: E402
from figures import goal, r  # noqa: E402

import issue6_bench  # noqa: E402
import scheduling  # noqa: E402
import accounts_bench  # noqa: E402

# Scenarios kept in modules of their own: name → function(bench).
MODULE_SCENARIOS = {"rate": issue6_bench.rate, "queue": issue6_bench.queue, "emulator": issue6_bench.emulator,
                    "alternative": issue6_bench.alternative, "tls": redis_bench.tls, "failover": redis_bench.failover,
                    **scheduling.SCENARIOS, **accounts_bench.SCENARIOS}
SCENARIOS = ["latency", "rate", "cpu", "queue", "emulator", "alternative", "tls", "failover",
             "fairness", "many_accounts", "urgent_behind_bulk", "time_to_revoke", "scale_accounts",
             "fan_out", "refresh_gap"]


class Params:
    def __init__(self, quick: bool):
        self.quick = quick
        # 1 + 6: latency-bound, and the alternative on the same users
        self.latency_users = 400 if quick else 2000
        self.latency_ms = 20
        self.latency_repeats = 1 if quick else 3
        self.concurrency = 256
        # 2: rate-bound
        self.rate_limit = 100
        self.rate_users = 40 if quick else 150
        # 3: CPU cost
        self.cpu_users = 400 if quick else 2000
        self.cpu_repeats = 1 if quick else 3
        # 4: queue
        self.queue_jobs = 50_000 if quick else 1_000_000
        self.queue_small = 10
        # 5: emulator
        self.emulator_calls = 50_000 if quick else 200_000
        # 7: TLS against plain TCP (issue 12)
        self.tls_enqueue_jobs = 20_000 if quick else 100_000
        self.tls_users = 300 if quick else 1000
        # 8: Sentinel failover (issue 12)
        self.failover_users = 200 if quick else 400
        self.random_seed = 42


class Bench:
    def __init__(self, args):
        self.args = args
        self.p = Params(args.quick)
        self.p.latency_ms = args.latency_ms
        self.tmp = lib.tempdir("iamq-bench-")
        self.machine = lib.machine()
        self.redis = lib.RedisServer(self.tmp, appendonly=False)
        self.redis.start()
        self.results: list[dict] = []
        self.crashed = False
        self.latency_run: dict | None = None  # iamq's run of scenario 1, reused by 6
        self.command = "scripts/bench" + "".join(f" {a}" for a in sys.argv[1:])

    # ------------------------------------------------------------ helpers

    @property
    def iamq(self) -> str:
        return str(lib.binary("iamq"))

    def flush(self) -> None:
        c = self.redis.client()
        try:
            c.call("FLUSHALL")
        finally:
            c.close()

    def config(self, name: str, endpoint: str, *, rate: float, burst: float, extra: str = "") -> Path:
        return lib.write_config(self.tmp / f"{name}.toml", redis_url=self.redis.url,
                                endpoint=endpoint, rate=rate, burst=burst,
                                extra='metrics_listen = ""\n' + extra)

    def enqueue(self, cfg: Path, data: bytes, name: str = "enqueue") -> tuple[lib.Proc, float, str]:
        argv = [self.iamq, "--config", cfg, "--log-level", "warn", "enqueue", "--file", "-"]
        t0 = time.monotonic()
        proc, out, err = lib.run(argv, name=name, input_bytes=data, timeout=900)
        wall = time.monotonic() - t0
        if proc.exit_code != 0:
            raise Failure(f"iamq enqueue exited {proc.exit_code}: {err[-500:].decode(errors='replace')}")
        n = out.count(b"\n")
        expected = data.count(b"\n")
        if n != expected:
            raise Failure(f"iamq enqueue printed {n} ids for {expected} jobs")
        return proc, wall, lib.shell_join(argv) + " < jobs.jsonl"

    def worker_argv(self, cfg: Path, concurrency: int, *extra) -> list[str]:
        return [self.iamq, "--config", str(cfg), "--log-level", "warn", "worker", "--drain",
                "--concurrency", str(concurrency), *map(str, extra)]

    def run_worker(self, argv, timeout: float = 600, sample=None) -> tuple[lib.Proc, float]:
        """Runs a worker to its --drain exit; `sample(seconds)` is called about every 0.25 s meanwhile."""
        log_path = self.tmp / f"worker-{time.monotonic_ns()}.log"
        with open(log_path, "wb") as logf:
            t0 = time.monotonic()
            p = lib.Proc(argv, name="iamq worker", stdout=logf, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
            finished = False
            next_sample = t0
            while time.monotonic() - t0 < timeout:
                if p.wait(max(0.0, next_sample - time.monotonic())):
                    finished = True
                    break
                if sample is not None:
                    try:
                        sample(time.monotonic() - t0)
                    except (OSError, Failure, lib.RedisError, ValueError):
                        pass
                next_sample = time.monotonic() + 0.25
            wall = time.monotonic() - t0
        if not finished:
            p.kill()
            raise Failure(f"iamq worker did not drain within {timeout:.0f} s: {lib.shell_join(argv)}")
        code = p.exit_code
        if code != 0:
            tail = log_path.read_bytes()[-800:].decode(errors="replace")
            if code is not None and code < 0:
                self.crashed = True
            raise Failure(f"iamq worker exited {code}: {tail}")
        return p, wall

    def final_jobs(self) -> int:
        counts = self.queue_counts()
        return sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "dead"))

    def queue_counts(self) -> dict:
        c = self.redis.client()
        try:
            return lib.hash_of(c.call("HGETALL", "iamq:counts"))
        finally:
            c.close()

    def run_iamq_batch(self, em: emu.EmulatorRun, users: list[str], *, concurrency: int,
                       rate: float, burst: float, worker_extra=(), cfg_extra: str = "") -> dict:
        """Enqueue one offboard job per user, drain with one worker, measure it."""
        self.flush()
        cfg = self.config("batch", em.endpoint, rate=rate, burst=burst, extra=cfg_extra)
        _, enq_wall, enq_cmd = self.enqueue(cfg, lib.jobs_jsonl(users))
        before = em.snapshot()
        argv = self.worker_argv(cfg, concurrency, *worker_extra)
        log(f"bench:   {len(users)} jobs, worker: {lib.shell_join(argv)}")
        samples: list[tuple[float, int, int]] = []  # (seconds, calls so far, jobs final)

        def sample(t: float) -> None:
            calls_now = em.snapshot().calls - before.calls
            samples.append((t, calls_now, self.final_jobs()))

        redis_cpu0 = self.redis.proc.cpu_seconds()
        p, wall = self.run_worker(argv, sample=sample)
        redis_cpu = self.redis.proc.cpu_seconds() - redis_cpu0
        after = em.snapshot()
        calls = after.calls - before.calls
        counts = self.queue_counts()
        cpu = p.cpu_seconds()
        # Steady state: from half a second after the first call until fewer jobs than the
        # concurrency were left (the drain tail cannot fill every slot).
        steady = None
        first = next((s for s in samples if s[1] > 0), None)
        if first:
            inside = [s for s in samples if s[0] >= first[0] + 0.5 and len(users) - s[2] >= concurrency]
            if len(inside) >= 2 and inside[-1][0] - inside[0][0] >= 1.0:
                a, b = inside[0], inside[-1]
                steady = {"seconds": r(b[0] - a[0], 2), "calls": b[1] - a[1],
                          "calls_per_second": r((b[1] - a[1]) / (b[0] - a[0]), 1)}
        emu_cpu = after.cpu - before.cpu
        return {
            "jobs": len(users),
            "job_counts": {k: int(v) for k, v in counts.items()},
            "calls": calls,
            "throttled": after.throttled - before.throttled,
            "wall_seconds": r(wall),
            "calls_per_second": r(calls / wall, 1),
            "jobs_per_second": r(len(users) / wall, 1),
            "steady": steady,
            "worker_cpu_seconds": r(cpu),
            "worker_cpu_ms_per_1000_calls": r(cpu * 1e6 / calls, 2) if calls else None,
            "worker_peak_rss_mib": r(p.peak_rss_mib(), 1),
            "emulator_cpu_seconds": r(emu_cpu),
            "emulator_cpu_ms_per_1000_calls": r(emu_cpu * 1e6 / calls, 2) if calls else None,
            "redis_server_cpu_seconds": r(redis_cpu),
            "redis_server_cpu_ms_per_1000_calls": r(redis_cpu * 1e6 / calls, 2) if calls else None,
            "emulator_peak_1s_rate": after.peak_rate,
            "commands": {"config": str(cfg), "enqueue": enq_cmd, "worker": lib.shell_join(argv)},
        }

    def record(self, name: str, title: str, figures: dict, goals: list, commands: dict,
               params: dict, notes: list | None = None) -> None:
        machine = {**self.machine, "loadavg_1m_after_scenario": round(os.getloadavg()[0], 2)}
        obj = {"scenario": name, "title": title, "quick": self.p.quick, "parameters": params,
               "figures": figures, "goals": goals, "commands": {"bench": self.command, **commands},
               "machine": machine, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        if notes:
            obj["notes"] = notes
        self.results.append(obj)
        print(json.dumps(obj), flush=True)

    def record_error(self, name: str, error: str) -> None:
        obj = {"scenario": name, "error": error, "machine": self.machine}
        self.results.append(obj)
        print(json.dumps(obj), flush=True)

    # ------------------------------------------------------------ 1. latency-bound

    def latency(self) -> None:
        p = self.p
        ideal = p.concurrency / (p.latency_ms / 1000.0)
        runs = []
        with emu.EmulatorRun(self.tmp, users=p.latency_users, seed=p.random_seed,
                             latency_ms=p.latency_ms) as em:
            users = em.user_names()
            for i in range(p.latency_repeats):
                if i:
                    em.reset()  # the same users again
                run = self.run_iamq_batch(em, users, concurrency=p.concurrency, rate=1e6, burst=1e6)
                run["efficiency"] = r(self.efficiency(run, ideal))
                log(f"bench:   run {i + 1}/{p.latency_repeats}: efficiency {run['efficiency']}")
                runs.append(run)
            command = em.command
        # The run with the median efficiency stands for the scenario (and for scenario 6).
        run = sorted(runs, key=lambda x: x["efficiency"] or 0)[len(runs) // 2]
        self.latency_run = {**run, "emulator_command": command}
        steady = run["steady"]
        eff_whole = run["calls_per_second"] / ideal
        eff_peak = (run["emulator_peak_1s_rate"] / ideal) if run["emulator_peak_1s_rate"] else None
        # What the ideal rate would cost in CPU on this machine (worker + emulator + redis-server,
        # all measured in this run): above nproc, the goal cannot be reached here.
        need = None
        if run["calls"] and run["worker_cpu_seconds"] is not None:
            per_call = (run["worker_cpu_seconds"] + run["emulator_cpu_seconds"]
                        + run["redis_server_cpu_seconds"]) / run["calls"]
            need = ideal * per_call
        # Supplementary: the same mean latency with jitter (at 20 ms: 15 ms + uniform [0, 10) ms). With no
        # jitter every call of a wave answers at once and the three processes work through each
        # wave in lockstep; real IAM latency varies. Not the goal's figure, printed beside it.
        with emu.EmulatorRun(self.tmp, users=p.latency_users, seed=p.random_seed,
                             latency_ms=p.latency_ms * 0.75, jitter_ms=p.latency_ms * 0.5) as em_j:
            jrun = self.run_iamq_batch(em_j, em_j.user_names(), concurrency=p.concurrency,
                                       rate=1e6, burst=1e6)
            jitter_command = em_j.command
        figures = {**{k: v for k, v in run.items() if k != "commands"},
                   "ideal_calls_per_second": ideal, "efficiency": run["efficiency"],
                   "efficiency_runs": [x["efficiency"] for x in runs],
                   "efficiency_whole_run": r(eff_whole),
                   "efficiency_at_peak_second": r(eff_peak),
                   "cores_needed_at_ideal_rate": r(need, 2),
                   "efficiency_with_jitter": r(self.efficiency(jrun, ideal)),
                   "with_jitter": {k: v for k, v in jrun.items() if k != "commands"}}
        self.record("latency", f"Latency-bound: {p.latency_ms:g} ms per call, concurrency 256, no rate limit",
                    figures, [goal("efficiency", run["efficiency"], ">=", 0.9)],
                    {"emulator": command, **run["commands"], "emulator_with_jitter": jitter_command},
                    {"users": len(users), "latency_ms": p.latency_ms, "concurrency": p.concurrency,
                     "rate_limit": None, "repeats": p.latency_repeats},
                    [f"efficiency = steady calls/s ÷ (concurrency ÷ latency), the median of "
                     f"{p.latency_repeats} runs (all in efficiency_runs); steady = from 0.5 s after "
                     "the first call until fewer jobs than the concurrency are left (emulator and "
                     "Redis sampled every 0.25 s); efficiency_whole_run divides all calls by the "
                     "worker's whole run (start-up to --drain exit, drain tail included); "
                     "efficiency_at_peak_second uses the emulator's highest one-second count; "
                     "cores_needed_at_ideal_rate = ideal calls/s × (worker + emulator + "
                     "redis-server CPU per call measured here): above nproc the run is CPU-bound, "
                     "not latency-bound; efficiency_with_jitter: one supplementary run at 0.75 × "
                     "latency + uniform [0, 0.5 × latency) (the same mean), not the goal's setting"])

    def efficiency(self, run: dict, ideal: float) -> float:
        steady = run["steady"]
        return (steady["calls_per_second"] if steady else run["calls_per_second"]) / ideal

    # ------------------------------------------------------------ 3. CPU cost

    def cpu(self) -> None:
        p = self.p
        with emu.EmulatorRun(self.tmp, users=p.cpu_users, seed=p.random_seed, latency_ms=0) as em:
            users = em.user_names()
            runs = []
            for i in range(p.cpu_repeats):
                if i:
                    em.reset()  # the same users again
                runs.append(self.run_iamq_batch(em, users, concurrency=p.concurrency, rate=1e6, burst=1e6))
            # The run with the median CPU per call stands for the scenario (this VM's speed
            # varies from minute to minute; every run is printed).
            run = sorted(runs, key=lambda x: x["worker_cpu_ms_per_1000_calls"] or 0)[len(runs) // 2]
            self.cpu_run = run
            figures = {k: v for k, v in run.items() if k != "commands"}
            figures["worker_cpu_ms_per_1000_calls_runs"] = [x["worker_cpu_ms_per_1000_calls"] for x in runs]
            em.reset()  # the batch deleted every user; the layer runs read one back
            layers, layer_commands = self.cpu_layers(em, users[0])
            figures["layers_us_per_call"] = layers
            self.record("cpu", "CPU cost: latency 0, keep-alive, concurrency 256",
                        figures,
                        [goal("worker_cpu_ms_per_1000_calls", run["worker_cpu_ms_per_1000_calls"], "<=", 25, "ms"),
                         goal("worker_peak_rss_mib", run["worker_peak_rss_mib"], "<=", 64, "MiB")],
                        {"emulator": em.command, **run["commands"], **layer_commands},
                        {"users": len(users), "latency_ms": 0, "concurrency": p.concurrency},
                        [f"worker CPU = user+sys of the worker process from wait4() at exit (Redis "
                         f"round trips and signing included, redis-server's own CPU not), the median "
                         f"of {p.cpu_repeats} runs (all in worker_cpu_ms_per_1000_calls_runs); peak "
                         f"RSS = ru_maxrss (VmHWM)",
                         "layers_us_per_call: CPU µs per call of the client stack alone (median of "
                         "3 runs each), no Redis, "
                         "same emulator and concurrency (getrusage around the run): "
                         "libcurl_transport = one pre-signed GetUser sent N times through "
                         "CurlMultiTransport (libcurl multi on Asio); iam_client = IamClient::call, "
                         "adding Query encoding, SigV4 per call and XML parsing; worker = the batch "
                         "above; worker_above_client = the worker's own share (Redis step records, "
                         "job JSON, planner, limiter, metrics); beast_http_reference = "
                         "iamq-emulator-load (Boost.Beast, pre-signed, no parsing), an HTTP client "
                         "other than libcurl for scale"])

    def cpu_layers(self, em: emu.EmulatorRun, user: str) -> tuple[dict, dict]:
        """CPU per call of each layer under the worker: the libcurl transport alone, the IAM
        client (signing, XML), and a Beast HTTP client for reference."""
        calls = 10_000 if self.p.quick else 40_000
        tool = lib.binary("iamq-client-load")
        out: dict = {}
        commands: dict = {}
        repeats = self.p.cpu_repeats
        for layer in ("transport", "client"):
            argv = [str(tool), "--endpoint", em.endpoint, "--layer", layer, "--calls", str(calls),
                    "--concurrency", str(self.p.concurrency), "--user", user]
            values = []
            for _ in range(repeats):
                proc, stdout, err = lib.run(argv, name=f"iamq-client-load-{layer}", timeout=300)
                if proc.exit_code != 0:
                    raise Failure(f"iamq-client-load --layer {layer} exited {proc.exit_code}: "
                                  f"{(stdout + err)[-500:].decode(errors='replace')}")
                values.append(json.loads(stdout.decode().strip().splitlines()[-1])["cpu_us_per_call"])
            key = "libcurl_transport" if layer == "transport" else "iam_client"
            out[key] = r(sorted(values)[len(values) // 2], 1)
            commands[f"layer_{layer}"] = lib.shell_join(argv)
        beast = []
        for _ in range(repeats):
            load = emu.run_load(em, calls=calls, concurrency=self.p.concurrency, user=user)
            lf = load["figures"]
            if lf["calls"]:
                beast.append(lf["load_tool_cpu_seconds"] * 1e6 / lf["calls"])
        out["beast_http_reference"] = r(sorted(beast)[len(beast) // 2], 1) if beast else None
        commands["layer_beast_reference"] = load["command"]
        worker = self.cpu_run["worker_cpu_ms_per_1000_calls"]
        out["worker"] = worker
        out["worker_above_client"] = r(worker - out["iam_client"], 1) if worker is not None else None
        return out, commands

    # ------------------------------------------------------------ table

    def table(self) -> str:
        rows = [("scenario", "figure", "value", "goal", "result")]
        for res in self.results:
            if "error" in res:
                rows.append((res["scenario"], "error", res["error"][:70], "", "ERROR"))
                continue
            for g in res["goals"]:
                v = g["value"]
                rows.append((res["scenario"], g["figure"], "-" if v is None else f"{v:,}" if isinstance(v, (int, float)) else str(v),
                             g["goal"], g["result"]))
            for k in EXTRA_TABLE.get(res["scenario"], []):
                v = res["figures"]
                for part in k.split("."):
                    v = v.get(part) if isinstance(v, dict) else None
                if v is not None:
                    rows.append((res["scenario"], k, f"{v:,}" if isinstance(v, (int, float)) else str(v), "", ""))
        widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
        lines = []
        for j, row in enumerate(rows):
            lines.append("  ".join(str(c).ljust(widths[i]) for i, c in enumerate(row)).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
        m = self.machine
        lines.append("")
        lines.append(f"machine: {m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_mib']} MiB, "
                     f"load average {m['loadavg_1m_at_start']} at start, {os.getloadavg()[0]:.2f} at the end; "
                     f"{'--quick' if self.p.quick else 'full run'}; command: {self.command}")
        return "\n".join(lines)


EXTRA_TABLE = {
    "latency": ["efficiency_runs", "efficiency_whole_run", "calls_per_second", "jobs_per_second",
                "efficiency_at_peak_second", "cores_needed_at_ideal_rate", "worker_cpu_ms_per_1000_calls",
                "redis_server_cpu_ms_per_1000_calls", "efficiency_with_jitter"],
    "rate": ["good_calls_per_second_steady", "emulator_peak_1s_rate"],
    "cpu": ["worker_cpu_ms_per_1000_calls_runs", "calls_per_second", "emulator_cpu_ms_per_1000_calls", "layers_us_per_call.libcurl_transport",
            "layers_us_per_call.iam_client", "layers_us_per_call.worker_above_client",
            "layers_us_per_call.beast_http_reference"],
    "queue": ["worker_rss_mib_small_queue", "worker_rss_mib_big_queue", "enqueue_process_cpu_seconds",
              "enqueue_redis_server_cpu_seconds"],
    "emulator": ["calls_per_second", "cpu_ms_per_1000_calls", "emulator_cores_used"],
    "alternative": ["script_calls_per_second", "iamq_calls_per_second", "script_cpu_ms_per_1000_calls",
                    "iamq_cpu_ms_per_1000_calls"],
    **scheduling.EXTRA_TABLE, **accounts_bench.EXTRA_TABLE,
}


def main() -> int:
    ap = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller counts, under a minute")
    ap.add_argument("--json-only", action="store_true", help="only the JSON lines, no table")
    ap.add_argument("--latency-ms", type=float, default=20.0,
                    help="emulator latency of scenarios 1 and 6 (default 20, the goal's setting)")
    ap.add_argument("--scenario", action="append", default=[],
                    help=f"run only these (repeatable or comma-separated): {', '.join(SCENARIOS)}")
    args = ap.parse_args()
    if not 0 < args.latency_ms <= 10_000:
        ap.error(f"--latency-ms must be > 0 and <= 10000 (got {args.latency_ms:g})")
    chosen = [s for arg in args.scenario for s in arg.split(",") if s] or SCENARIOS
    bad = [s for s in chosen if s not in SCENARIOS]
    if bad:
        ap.error(f"unknown scenario {', '.join(bad)} (one of {', '.join(SCENARIOS)})")
    lib.install_cleanup()
    t0 = time.monotonic()
    try:
        b = Bench(args)
    except Failure as e:
        log(f"bench: {e}")
        return 1
    for name in SCENARIOS:
        if name not in chosen:
            continue
        log(f"bench: scenario {name}")
        t = time.monotonic()
        try:
            if name in MODULE_SCENARIOS:
                MODULE_SCENARIOS[name](b)
            else:
                getattr(b, name)()
        except (Failure, OSError, lib.RedisError, ValueError, KeyError) as e:
            log(f"bench: scenario {name} failed: {e}")
            b.record_error(name, str(e))
        log(f"bench: scenario {name} took {time.monotonic() - t:.1f} s")
    if not args.json_only:
        print()
        print(b.table())
        print(f"total {time.monotonic() - t0:.0f} s")
    lib.stop_all()
    # Missed goals never change the exit status; a crash or a scenario that could not run does.
    return 1 if b.crashed or any("error" in res for res in b.results) else 0


if __name__ == "__main__":
    sys.exit(main())
