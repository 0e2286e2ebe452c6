"""Shared plumbing for scripts/bench and scripts/chaos (stdlib only, /usr/bin/python3).

Starts and stops the real programs as a user would: redis-server on a free loopback port in a
temporary directory, iamq-emulator (`--listen 127.0.0.1:0`, first stdout line `listening on
127.0.0.1:PORT`), and the iamq binary. Every child runs in its own process group, dies with
this process (PR_SET_PDEATHSIG) and is killed by stop_all() at exit, so nothing is left behind.

CPU and memory of a child come from the kernel's accounting: os.wait4() returns the rusage
of exactly that child (user+sys seconds, peak RSS = VmHWM), and /proc/PID/stat gives the CPU
of a still-running child (the emulator) between two moments.
"""
from __future__ import annotations

import atexit
import ctypes
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

SOURCE_DIR = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

# The emulator's default operator key (the AWS SigV4 test suite's example key).
ACCESS_KEY_ID = "AKIDEXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ACCOUNT_ID = "123456789012"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Failure(Exception):
    """Something the harness needed did not work (a program missing or not starting)."""


# ---------------------------------------------------------------- paths and the machine

def build_dir() -> Path:
    b = Path(os.environ.get("IAMQ_BUILD_DIR", "build"))
    return b if b.is_absolute() else SOURCE_DIR / b


def binary(name: str) -> Path:
    p = build_dir() / "bin" / name
    if not os.access(p, os.X_OK):
        raise Failure(f"{p} is missing: run scripts/setup (or set IAMQ_BUILD_DIR)")
    return p


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_mib": round(mem_kib / 1024),
        "kernel": platform.release(),
        "loadavg_1m_at_start": round(load, 2) if load is not None else None,
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shell_join(argv) -> str:
    import shlex
    return " ".join(shlex.quote(str(a)) for a in argv)


# ---------------------------------------------------------------- child processes

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_children: list["Proc"] = []
_children_lock = threading.Lock()


def _child_setup() -> None:
    # Runs in the child between fork and exec: die with the harness even if it is SIGKILLed.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Proc:
    """One child program in its own process group."""

    def __init__(self, argv, *, name: str, stdout=None, stderr=None, stdin=None,
                 env: dict | None = None, cwd=None):
        self.argv = [str(a) for a in argv]
        self.name = name
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        self.popen = subprocess.Popen(
            self.argv, stdout=stdout, stderr=stderr, stdin=stdin, env=full_env, cwd=cwd,
            start_new_session=True, preexec_fn=_child_setup)
        self.pid = self.popen.pid
        self.status: int | None = None  # raw wait status once reaped
        self.rusage = None
        with _children_lock:
            _children.append(self)

    @property
    def command(self) -> str:
        return shell_join(self.argv)

    def poll(self) -> bool:
        """True once the child has exited (reaps it and keeps its rusage)."""
        if self.status is not None:
            return True
        try:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.status = 0
            return True
        if pid == 0:
            return False
        self._reaped(status, ru)
        return True

    def _reaped(self, status, ru) -> None:
        self.status = status
        self.rusage = ru
        self.popen.returncode = os.waitstatus_to_exitcode(status)
        with _children_lock:
            if self in _children:
                _children.remove(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for exit (polling wait4 so the rusage is kept); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.005
        while not self.poll():
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

    @property
    def exit_code(self) -> int | None:
        """Exit status, or -SIGNAL when killed by a signal (None while running)."""
        if self.status is None:
            return None
        return os.waitstatus_to_exitcode(self.status)

    def signal_group(self, sig: int) -> None:
        if self.status is not None:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds; always reaps."""
        if self.status is not None:
            return
        self.signal_group(signal.SIGTERM)
        if not self.wait(grace):
            self.kill()

    def kill(self) -> None:
        self.signal_group(signal.SIGKILL)
        self.wait(10)

    def cpu_seconds(self) -> float:
        """user+sys CPU seconds: from wait4 once reaped, else from /proc/PID/stat."""
        if self.rusage is not None:
            return self.rusage.ru_utime + self.rusage.ru_stime
        return proc_cpu_seconds(self.pid)

    def peak_rss_mib(self) -> float:
        if self.rusage is not None:
            return self.rusage.ru_maxrss / 1024.0  # KiB on Linux
        return proc_status_kib(self.pid, "VmHWM") / 1024.0

    def rss_mib(self) -> float:
        return proc_status_kib(self.pid, "VmRSS") / 1024.0


def proc_cpu_seconds(pid: int) -> float:
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def stop_all() -> None:
    with _children_lock:
        procs = list(_children)
    for p in procs:
        p.signal_group(signal.SIGTERM)
    deadline = time.monotonic() + 5
    for p in procs:
        p.wait(max(0.0, deadline - time.monotonic()))
    for p in procs:
        if p.status is None:
            p.kill()


def install_cleanup() -> None:
    atexit.register(stop_all)

    def on_signal(signum, _frame):
        stop_all()
        sys.exit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)


def run(argv, *, name: str, input_bytes: bytes | None = None, stdout=subprocess.PIPE,
        env: dict | None = None, timeout: float = 600) -> tuple[Proc, bytes, bytes]:
    """Runs a program to completion; returns the Proc (rusage kept), stdout and stderr."""
    p = Proc(argv, name=name, stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
             stdout=stdout, stderr=subprocess.PIPE, env=env)
    out_chunks: list[bytes] = []
    err_chunks: list[bytes] = []

    def pump(stream, sink):
        for chunk in iter(lambda: stream.read(65536), b""):
            sink.append(chunk)

    threads = []
    if stdout == subprocess.PIPE:
        threads.append(threading.Thread(target=pump, args=(p.popen.stdout, out_chunks), daemon=True))
    threads.append(threading.Thread(target=pump, args=(p.popen.stderr, err_chunks), daemon=True))
    for t in threads:
        t.start()
    if input_bytes is not None:
        try:
            p.popen.stdin.write(input_bytes)
        except BrokenPipeError:
            pass
        p.popen.stdin.close()
    if not p.wait(timeout):
        p.kill()
        raise Failure(f"{name} did not finish within {timeout:.0f} s: {p.command}")
    for t in threads:
        t.join(5)
    return p, b"".join(out_chunks), b"".join(err_chunks)


# ---------------------------------------------------------------- Redis

class Resp:
    """A minimal RESP2 client for reading what the harness checks (pipelining supported)."""

    def __init__(self, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    @staticmethod
    def _encode(args) -> bytes:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(parts)

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode("utf-8", "replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError(f"bad RESP line {line!r}")

    def call(self, *args):
        self.sock.sendall(self._encode(args))
        r = self._reply()
        if isinstance(r, RedisError):
            raise r
        return r

    def pipeline(self, commands, chunk: int = 1000) -> list:
        """Sends commands in chunks and returns every reply (errors as RedisError values)."""
        out = []
        for i in range(0, len(commands), chunk):
            part = commands[i:i + chunk]
            self.sock.sendall(b"".join(self._encode(c) for c in part))
            out.extend(self._reply() for _ in part)
        return out


class RedisError(Exception):
    pass


def hash_of(flat) -> dict:
    if not flat:
        return {}
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


class RedisServer:
    """redis-server on a free loopback port, data in its own temp dir; restartable on the same port."""

    def __init__(self, workdir: Path, *, appendonly: bool = False, port: int | None = None):
        self.workdir = workdir / f"redis-{os.getpid()}-{random.randrange(1 << 30)}"
        self.workdir.mkdir(parents=True)
        self.appendonly = appendonly
        self.port = port or free_port()
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def argv(self):
        return ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
                "--dir", str(self.workdir), "--save", "", "--appendonly",
                "yes" if self.appendonly else "no", "--appendfsync", "everysec",
                "--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning",
                "--logfile", str(self.workdir / "redis.log")]

    def start(self, timeout: float = 15.0) -> None:
        last_error = None
        for _ in range(3):
            self.proc = Proc(self.argv(), name="redis-server", stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll():
                    last_error = f"redis-server exited ({self.proc.exit_code}); see {self.workdir}/redis.log"
                    break
                try:
                    r = Resp(self.port, timeout=2)
                    try:
                        if r.call("PING") == "PONG":
                            # with AOF on, wait until the data is loaded
                            info = r.call("INFO", "persistence")
                            if "loading:0" in info:
                                self.starts += 1
                                return
                    except RedisError as e:  # LOADING
                        last_error = str(e)
                    finally:
                        r.close()
                except OSError as e:
                    last_error = str(e)
                time.sleep(0.02)
            else:
                self.proc.kill()
            time.sleep(0.2)
        raise Failure(f"redis-server did not start on port {self.port}: {last_error}")

    def stop(self) -> None:
        """SIGTERM: redis-server flushes the AOF and exits."""
        if self.proc:
            self.proc.stop(grace=20)

    def restart(self) -> float:
        """Stops and starts again on the same port (AOF replayed); returns seconds it was down."""
        t0 = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - t0

    def client(self) -> Resp:
        return Resp(self.port)


# ---------------------------------------------------------------- the IAM emulator

class Emulator:
    """iamq-emulator on 127.0.0.1:0; `flags` are passed as given (latency, faults, users …)."""

    def __init__(self, flags, *, name: str = "iamq-emulator", log_path: Path | None = None):
        self.argv = [str(binary("iamq-emulator")), "--listen", "127.0.0.1:0", *map(str, flags)]
        self.log_path = log_path
        err = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.proc = Proc(self.argv, name=name, stdout=subprocess.PIPE, stderr=err)
        if log_path:
            err.close()
        self.port = self._read_port(timeout=120)
        # Drain stdout so the emulator never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()

    def _read_port(self, timeout: float) -> int:
        result: dict = {}

        def reader():
            result["line"] = self.proc.popen.stdout.readline().decode(errors="replace").strip()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        line = result.get("line", "")
        prefix = "listening on 127.0.0.1:"
        if not line.startswith(prefix):
            self.proc.kill()
            hint = f" (log: {self.log_path})" if self.log_path else ""
            raise Failure(f"iamq-emulator did not print '{prefix}PORT' (got {line!r}){hint}: "
                          f"{shell_join(self.argv)}")
        return int(line[len(prefix):].split()[0])

    def _drain(self) -> None:
        try:
            for _ in iter(lambda: self.proc.popen.stdout.read(4096), b""):
                pass
        except (OSError, ValueError):
            pass

    @property
    def command(self) -> str:
        return shell_join(self.argv)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin(self, path: str, body=None, method: str | None = None, timeout: float = 60):
        url = f"{self.endpoint}/_emulator/{path}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as e:
            raise Failure(f"emulator admin {method or 'GET'} /_emulator/{path}: HTTP {e.code}: "
                          f"{e.read()[:300].decode(errors='replace')}")
        return json.loads(text) if text.strip() else {}

    def stats(self) -> dict:
        return self.admin("stats")

    def state(self) -> dict:
        return self.admin("state")

    def reset(self) -> None:
        self.admin("reset", body={}, method="POST")

    def set_faults(self, faults: dict) -> dict:
        return self.admin("faults", body=faults, method="POST")

    def cpu_seconds(self) -> float:
        return self.proc.cpu_seconds()

    def stop(self) -> None:
        self.proc.stop()


# ---------------------------------------------------------------- iamq

def write_config(path: Path, *, redis_url: str, endpoint: str, rate: float, burst: float,
                 ns: str = "iamq", extra: str = "") -> Path:
    """A TOML config for iamq with the emulator's static key (loopback test plumbing)."""
    text = f"""# written by iamq's bench/chaos harness
redis_url = "{redis_url}"
namespace = "{ns}"
{extra}
[accounts.default]
credentials = "static"
access_key_id = "{ACCESS_KEY_ID}"
secret_access_key = "{SECRET_ACCESS_KEY}"
endpoint = "{endpoint}"
region = "us-east-1"
rate = {rate}
burst = {burst}
"""
    path.write_text(text)
    return path


def jobs_jsonl(users, *, id_prefix: str | None = None) -> bytes:
    lines = []
    for i, u in enumerate(users):
        job = {"type": "offboard_user", "user_name": u}
        if id_prefix is not None:
            job["id"] = f"{id_prefix}{i:06d}"
        lines.append(json.dumps(job, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def tempdir(prefix: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=prefix))

    def cleanup():
        stop_all()  # the children may still write there
        if os.environ.get("IAMQ_KEEP_TMP") != "1":
            shutil.rmtree(d, True)

    atexit.register(cleanup)
    return d
