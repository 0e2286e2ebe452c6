#!/usr/bin/python3
"""Helper of scripts/demo: the JSON work (ports, the job file, the summary, the verification).

  demo_helper.py free-port
  demo_helper.py jobs --state before.json --out jobs.jsonl [--count N]
  demo_helper.py summary --redis-port P --ns NS --emulator URL --jobs jobs.jsonl \
      --before before.json --after after.json --emu-stats stats.json --queue-stats q.json \
      --wall SECONDS [--metrics metrics.txt] [--config c.toml]

`summary` exits 1 when the verification against the emulator's state fails.
Only the standard library; Redis is read with redis-cli (one EVAL for all the job records).
"""
import argparse
import json
import os
import socket
import subprocess
import sys

UNKNOWN_USER = "contractor.already-gone"
MALFORMED_LINE = '{"type":"offboard_user","user_name":"Jane Doe (left 2024-03-01)"}'

TTY = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None


def color(text, code):
    return f"\x1b[{code}m{text}\x1b[0m" if TTY else text


def ok(text):
    return color(text, "32")


def bad(text):
    return color(text, "31;1")


def dim(text):
    return color(text, "2")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    print(port)


def account(state):
    accounts = state.get("accounts", [])
    if not accounts:
        raise SystemExit("demo: the emulator's state has no account")
    return accounts[0]


def make_jobs(args):
    with open(args.state) as f:
        users = sorted(u["name"] for u in account(json.load(f))["users"])[:args.count]
    with open(args.out, "w") as out:
        for n, name in enumerate(users, 1):
            job = {"id": f"offboard-{name}", "type": "offboard_user", "user_name": name,
                   "meta": {"ticket": f"HR-{10000 + n}"}}
            out.write(json.dumps(job, separators=(",", ":")) + "\n")
        # Someone HR lists who has no IAM user (already removed by hand): ends "absent".
        out.write(json.dumps({"id": "offboard-unknown", "type": "offboard_user",
                              "user_name": UNKNOWN_USER, "meta": {"ticket": "HR-19998"}},
                             separators=(",", ":")) + "\n")
        # A display name where the user name belongs: refused by iamq enqueue.
        out.write(MALFORMED_LINE + "\n")
    print(len(users))


# One round trip for every record: status, result, step log; and the dead letters.
LUA_RECORDS = """
local ns = ARGV[1]
local out = {jobs = {}, dead = {}}
for i = 2, #ARGV do
  local id = ARGV[i]
  local k = ns .. ':job:' .. id
  out.jobs[id] = {
    status = redis.call('HGET', k, 'status'),
    result = redis.call('HGET', k, 'result'),
    error = redis.call('HGET', k, 'error'),
    steps = redis.call('LRANGE', k .. ':steps', 0, -1),
  }
end
for _, e in ipairs(redis.call('XRANGE', ns .. ':dead', '-', '+')) do
  local f = {}
  for j = 1, #e[2], 2 do f[e[2][j]] = e[2][j + 1] end
  table.insert(out.dead, f)
end
return cjson.encode(out)
"""


def read_records(port, ns, ids):
    proc = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(port), "--no-auth-warning",
                           "EVAL", LUA_RECORDS, "0", ns, *ids],
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout)
    dead = out.get("dead") or []
    return out["jobs"], (dead if isinstance(dead, list) else [])


def steps_of(rec):
    steps = rec.get("steps") or []
    if not isinstance(steps, list):  # cjson encodes an empty Lua table as {}
        return []
    return [json.loads(s) for s in steps]


def text(v):
    return v if isinstance(v, str) else ""  # cjson: a missing hash field is false


def parse_metrics(path):
    """Prometheus text format → {(name, frozenset(labels)): value}, enough for our counters."""
    values = {}
    if not path or not os.path.exists(path):
        return values
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            name, _, labels = head.partition("{")
            pairs = []
            for part in labels.rstrip("}").split(","):
                if "=" in part:
                    k, _, v = part.partition("=")
                    pairs.append((k, v.strip('"')))
            try:
                values[(name, frozenset(pairs))] = float(value)
            except ValueError:
                pass
    return values


def metric_sum(values, name, **labels):
    want = set(labels.items())
    return sum(v for (n, ls), v in values.items() if n == name and want <= set(ls))


def listed(items, n=5):
    more = f" … and {len(items) - n} more" if len(items) > n else ""
    return ", ".join(items[:n]) + more


def fmt_counts(d, order=None):
    keys = order or sorted(d, key=lambda k: (-d[k], k))
    return ", ".join(f"{k} {d[k]}" for k in keys if d.get(k))


def summary(args):
    with open(args.jobs) as f:
        jobs = []
        for line in f:
            try:
                jobs.append(json.loads(line))
            except ValueError:
                pass
    ids = [j["id"] for j in jobs if isinstance(j, dict) and "id" in j]
    # The users the batch offboards: the jobs enqueue accepted, less the unknown user.
    offboarded = [j["user_name"] for j in jobs
                  if j.get("id", "offboard-unknown") != "offboard-unknown" and "user_name" in j]
    records, dead_letters = read_records(args.redis_port, args.ns, ids)
    with open(args.queue_stats) as f:
        qstats = json.load(f)
    with open(args.emu_stats) as f:
        emu = json.load(f)
    with open(args.before) as f:
        before = account(json.load(f))
    with open(args.after) as f:
        after = account(json.load(f))
    metrics = parse_metrics(args.metrics)

    # Outcomes and retries, from the job records and their step logs.
    outcomes, statuses, retries, delayed = {}, {}, {}, {}
    calls = 0
    failed_jobs = []
    delayed_example = None
    for jid in ids:
        rec = records.get(jid) or {}
        status = text(rec.get("status")) or "missing"
        statuses[status] = statuses.get(status, 0) + 1
        result = json.loads(rec["result"]) if text(rec.get("result")) else {}
        if status == "succeeded":
            o = result.get("outcome", "?")
            outcomes[o] = outcomes.get(o, 0) + 1
        elif status in ("failed", "dead"):
            failed_jobs.append((jid, status, text(rec.get("error"))))
        steps = steps_of(rec)
        calls += len(steps)
        for s in steps:
            if s.get("disposition") in ("retry", "delayed"):
                cls = s.get("class", "?")
                retries[cls] = retries.get(cls, 0) + 1
                if s["disposition"] == "delayed":
                    delayed[cls] = delayed.get(cls, 0) + 1
                    if delayed_example is None:
                        delayed_example = (jid, steps)

    counts = qstats.get("counts", {})
    total_retries = sum(retries.values())
    wall = max(args.wall, 0.001)
    emu_calls = emu.get("total_calls", 0)
    by_code = emu.get("calls_by_code", {})

    def row(label, value, note=""):
        print(f"  {label:<26}{value:>8}  {note}".rstrip())

    print()
    print(color("Summary", "1"))
    row("jobs run by the worker", len(ids) + len(dead_letters),
        f"{len(ids)} from the file, {len(dead_letters)} raw XADD")
    row("succeeded", counts.get("succeeded", 0),
        "outcome " + fmt_counts(outcomes, [k for k in ("done", "absent") if k in outcomes]
                                + sorted(k for k in outcomes if k not in ("done", "absent"))))
    row("failed", counts.get("failed", 0))
    row("dead (dead letters)", qstats.get("dead", 0),
        "; ".join(f"{d.get('reason', '?')}: {d.get('error', '')}" for d in dead_letters[:3]))
    row("retries", total_retries, fmt_counts(retries))
    row("  via the delayed set", sum(delayed.values()),
        "long waits: the job left its slot and came back through <ns>:delayed")
    row("IAM calls", calls,
        f"in {wall:.1f} s = {calls / wall:.0f} calls/s (step logs; the emulator counted {emu_calls})")
    row("highest 1-second rate", emu.get("max_calls_per_second", 0),
        f"calls/s seen by the emulator (limit {args.emu_rate} + burst {args.emu_burst})")
    answers = [f"{k} {by_code[k]}" for k in sorted(by_code, key=lambda k: (-by_code[k], k))]
    for i in range(0, len(answers), 3):
        row("IAM answers" if i == 0 else "", "", ", ".join(answers[i:i + 3]))
    if metrics:
        m_calls = metric_sum(metrics, "iamq_iam_calls_total")
        m_retries = metric_sum(metrics, "iamq_retries_total")
        rate = metric_sum(metrics, "iamq_limiter_rate", account="default")
        row("worker /metrics", "", dim(f"iamq_iam_calls_total {m_calls:.0f}, iamq_retries_total {m_retries:.0f}, "
                                      f"limiter {rate:.0f}/s (last scrape)"))

    if delayed_example:
        jid, steps = delayed_example
        print()
        print(color(f"One job that went through the delayed set: {jid}", "1") +
              dim("  (from its step log; all of it: iamq status " + jid + ")"))
        # The steps around the first delayed wait: two before, the wait, and up to the success.
        first = next(i for i, s in enumerate(steps) if s.get("disposition") == "delayed")
        lo = max(0, first - 2)
        hi = first + 1
        while hi < len(steps) and steps[hi].get("result") != "ok":
            hi += 1
        for i in range(lo, min(hi + 1, len(steps))):
            s = steps[i]
            what = s.get("code") or s.get("result", "")
            wait = ""
            if s.get("disposition") == "retry":
                wait = f"-> wait {s.get('retry_in_ms', 0)} ms on a timer"
            elif s.get("disposition") == "delayed":
                wait = f"-> wait {s.get('retry_in_ms', 0)} ms in the delayed set, slot freed"
            print(f"    {i + 1:>3}  {s.get('action', ''):<28} attempt {s.get('attempt', 0):<3} "
                  f"{s.get('http_status', 0):<4} {what:<30} {wait}".rstrip())

    # Verification against the emulator's state.
    print()
    print(color("Verification against the emulator's state (/_emulator/state)", "1"))
    problems = []
    left_users = {u["name"] for u in after["users"]}
    still_there = [u for u in offboarded if u in left_users]
    # Virtual MFA devices are ARN serials; assigned ones appear under their user, unassigned
    # ones in virtual_mfa_devices. Offboarding must delete the users' virtual devices outright.
    def serials(acct):
        out = {d["serial"] for d in acct.get("virtual_mfa_devices", [])}
        for u in acct["users"]:
            out |= {d["serial"] for d in u.get("mfa_devices", [])}
        return out
    batch = set(offboarded)
    their_virtual = {d["serial"] for u in before["users"] if u["name"] in batch
                     for d in u.get("mfa_devices", []) if d["serial"].startswith("arn:")}
    virtual_left = sorted(their_virtual & serials(after))
    orphans_before = {d["serial"] for d in before.get("virtual_mfa_devices", [])}
    orphans_gone = sorted(orphans_before - serials(after))
    line = f"{len(offboarded) - len(still_there)} of {len(offboarded)} offboarded users are gone"
    print("  " + (ok("ok  ") if not still_there else bad("FAIL")) + "  " + line)
    if still_there:
        problems.append(f"{len(still_there)} offboarded users still exist: " + listed(still_there))
    line = f"{len(their_virtual) - len(virtual_left)} of {len(their_virtual)} of their virtual MFA devices are deleted"
    print("  " + (ok("ok  ") if not virtual_left else bad("FAIL")) + "  " + line)
    if virtual_left:
        problems.append(f"{len(virtual_left)} of their virtual MFA devices are left: " + listed(virtual_left))
    others_before = {u["name"] for u in before["users"]} - batch
    others_gone = sorted(others_before - left_users)
    if others_before:
        print("  " + (ok("ok  ") if not others_gone else bad("FAIL")) +
              f"  {len(others_before) - len(others_gone)} of {len(others_before)} users outside the batch are still there")
    if others_gone:
        problems.append("users outside the batch were deleted: " + listed(others_gone))
    print("  " + (ok("ok  ") if not orphans_gone else bad("FAIL")) +
          f"  {len(orphans_before) - len(orphans_gone)} of {len(orphans_before)} unassigned virtual MFA devices "
          "(no user's, not in the batch) are still there")
    if orphans_gone:
        problems.append("unassigned virtual MFA devices were deleted: " + listed(orphans_gone))
    unknown = records.get("offboard-unknown") or {}
    unknown_result = json.loads(unknown["result"]) if text(unknown.get("result")) else {}
    unknown_ok = text(unknown.get("status")) == "succeeded" and unknown_result.get("outcome") == "absent"
    print("  " + (ok("ok  ") if unknown_ok else bad("FAIL")) +
          f"  unknown user {UNKNOWN_USER}: {text(unknown.get('status')) or 'no record'}, "
          f"outcome {unknown_result.get('outcome', '-')}")
    if not unknown_ok:
        problems.append("the unknown user's job did not end succeeded/absent")
    raw_dead = any(d.get("reason") == "invalid" for d in dead_letters)
    print("  " + (ok("ok  ") if raw_dead else bad("FAIL")) +
          "  the malformed job pushed with XADD is a dead letter (reason invalid)")
    if not raw_dead:
        problems.append("the malformed XADD job was not dead-lettered")
    not_done = [f"{j} {s}: {e}" for j, s, e in failed_jobs]
    pending = sum(n for st, n in statuses.items() if st not in ("succeeded", "failed", "dead"))
    if not_done or pending:
        problems.append(f"{len(not_done)} jobs failed, {pending} not finished" +
                        ("; " + "; ".join(not_done[:5]) if not_done else ""))
        print("  " + bad("FAIL") + f"  {len(not_done)} jobs failed, {pending} not finished")
    else:
        print("  " + ok("ok  ") + "  every job of the file finished: " + fmt_counts(statuses))

    print()
    if problems:
        print(bad("VERDICT: FAILED"))
        for p in problems:
            print("  - " + p)
        return 1
    print(ok("VERDICT: OK") + f" — all {len(offboarded)} offboarded users are gone, "
          "nothing else was touched")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("free-port")
    j = sub.add_parser("jobs")
    j.add_argument("--state", required=True)
    j.add_argument("--out", required=True)
    j.add_argument("--count", type=int, default=None, help="offboard the first N users (sorted)")
    s = sub.add_parser("summary")
    s.add_argument("--redis-port", required=True, type=int)
    s.add_argument("--ns", required=True)
    s.add_argument("--jobs", required=True)
    s.add_argument("--before", required=True)
    s.add_argument("--after", required=True)
    s.add_argument("--emu-stats", required=True)
    s.add_argument("--queue-stats", required=True)
    s.add_argument("--wall", required=True, type=float)
    s.add_argument("--emu-rate", default="?")
    s.add_argument("--emu-burst", default="?")
    s.add_argument("--metrics")
    a = p.parse_args()
    if a.cmd == "free-port":
        free_port()
    elif a.cmd == "jobs":
        make_jobs(a)
    else:
        sys.exit(summary(a))


if __name__ == "__main__":
    main()
