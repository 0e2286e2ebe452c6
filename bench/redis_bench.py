"""Redis deployment figures for scripts/bench (issue 12): TLS against plain TCP, and the
longest consumption pause across a Sentinel failover."""
from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import lib
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
