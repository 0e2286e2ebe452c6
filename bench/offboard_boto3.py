#!/usr/bin/python3
"""Offboard IAM users with boto3: the alternative iamq is measured against.

What a competent engineer writes instead of using iamq: the user-deletion order AWS documents
for the API (the order iamq's planner uses), every list paged to the end with boto3's
paginators, NoSuchEntity tolerated (already gone), botocore's
`standard` retry mode (throttling, 5xx, connection errors) plus its own capped, jittered
backoff loop for EntityTemporarilyUnmodifiable and ConcurrentModification, a bounded
list-again loop on DeleteConflict, one shared client and a ThreadPoolExecutor.

    /usr/bin/python3 bench/offboard_boto3.py --endpoint-url http://127.0.0.1:PORT \
        --concurrency 256 --users-file users.txt            # one user name a line, '-' = stdin

Credentials come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY),
or --access-key-id/--secret-access-key for the emulator's key. Prints one JSON summary on
stdout: users, outcomes, HTTP attempts, wall and CPU seconds of the offboarding phase (the
process's own getrusage, imports and client creation excluded), and the first errors.
Exit status: 0 when every user is gone, 1 when some failed, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

RETRYABLE_HERE = {"EntityTemporarilyUnmodifiable", "ConcurrentModification"}


class Offboarder:
    def __init__(self, client, *, backoff_base: float, backoff_cap: float, backoff_attempts: int,
                 conflict_rounds: int):
        self.iam = client
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.backoff_attempts = backoff_attempts
        self.conflict_rounds = conflict_rounds
        self.lock = threading.Lock()
        self.own_retries = 0

    # -- one call, with our own backoff for the errors botocore does not retry
    def call(self, op: str, **params):
        fn = getattr(self.iam, op)
        attempt = 0
        while True:
            try:
                return fn(**params)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                if code in RETRYABLE_HERE and attempt + 1 < self.backoff_attempts:
                    with self.lock:
                        self.own_retries += 1
                    # full jitter, capped exponential
                    time.sleep(random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** attempt)))
                    attempt += 1
                    continue
                raise

    def delete(self, op: str, **params) -> bool:
        """A delete/deactivate/detach; NoSuchEntity means it is already gone."""
        try:
            self.call(op, **params)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "NoSuchEntity":
                return False
            raise

    def pages(self, op: str, key: str, **params):
        """Every item of a paged List* call, through boto3's paginator (Marker/IsTruncated).
        Reads never answer EntityTemporarilyUnmodifiable; botocore's retries cover the rest."""
        for page in self.iam.get_paginator(op).paginate(**params):
            yield from page.get(key, [])

    # -- the order iamq's planner uses (AWS's documented order for deleting a user by API)
    def strip(self, user: str) -> None:
        got = self.call("get_user", UserName=user)  # exists? permissions boundary?
        self.delete("delete_login_profile", UserName=user)
        for k in list(self.pages("list_access_keys", "AccessKeyMetadata", UserName=user)):
            self.delete("delete_access_key", UserName=user, AccessKeyId=k["AccessKeyId"])
        for c in list(self.pages("list_signing_certificates", "Certificates", UserName=user)):
            self.delete("delete_signing_certificate", UserName=user, CertificateId=c["CertificateId"])
        for k in list(self.pages("list_ssh_public_keys", "SSHPublicKeys", UserName=user)):
            self.delete("delete_ssh_public_key", UserName=user, SSHPublicKeyId=k["SSHPublicKeyId"])
        # ListServiceSpecificCredentials is not paginated in IAM's API (no paginator in boto3).
        creds = self.call("list_service_specific_credentials", UserName=user)
        for c in creds.get("ServiceSpecificCredentials", []):
            self.delete("delete_service_specific_credential", UserName=user,
                        ServiceSpecificCredentialId=c["ServiceSpecificCredentialId"])
        for d in list(self.pages("list_mfa_devices", "MFADevices", UserName=user)):
            serial = d["SerialNumber"]
            self.delete("deactivate_mfa_device", UserName=user, SerialNumber=serial)
            if serial.startswith("arn:") and ":mfa/" in serial:  # virtual device
                self.delete("delete_virtual_mfa_device", SerialNumber=serial)
        for name in list(self.pages("list_user_policies", "PolicyNames", UserName=user)):
            self.delete("delete_user_policy", UserName=user, PolicyName=name)
        for p in list(self.pages("list_attached_user_policies", "AttachedPolicies", UserName=user)):
            self.delete("detach_user_policy", UserName=user, PolicyArn=p["PolicyArn"])
        if got.get("User", {}).get("PermissionsBoundary"):
            self.delete("delete_user_permissions_boundary", UserName=user)
        for g in list(self.pages("list_groups_for_user", "Groups", UserName=user)):
            self.delete("remove_user_from_group", UserName=user, GroupName=g["GroupName"])

    def offboard(self, user: str) -> tuple[str, str]:
        """Returns (outcome, error): deleted, absent, or failed with the error."""
        try:
            for _ in range(self.conflict_rounds + 1):
                self.strip(user)
                try:
                    self.call("delete_user", UserName=user)
                    return "deleted", ""
                except ClientError as e:
                    code = e.response.get("Error", {}).get("Code")
                    if code == "DeleteConflict":
                        continue  # something appeared meanwhile: list again
                    if code == "NoSuchEntity":
                        return "absent", ""
                    raise
            return "failed", "DeleteConflict after every round"
        except ClientError as e:
            err = e.response.get("Error", {})
            if err.get("Code") == "NoSuchEntity":
                return "absent", ""  # the user itself does not exist (any step may say so)
            return "failed", f"{err.get('Code')}: {err.get('Message')}"
        except Exception as e:  # connection errors after botocore's retries, etc.
            return "failed", f"{type(e).__name__}: {e}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--access-key-id")
    ap.add_argument("--secret-access-key")
    ap.add_argument("--users-file", required=True, help="one user name a line; '-' for stdin")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--max-attempts", type=int, default=5, help="botocore standard retries (total attempts)")
    ap.add_argument("--backoff-base", type=float, default=1.0, help="seconds, own backoff")
    ap.add_argument("--backoff-cap", type=float, default=60.0)
    ap.add_argument("--backoff-attempts", type=int, default=20)
    ap.add_argument("--conflict-rounds", type=int, default=5)
    args = ap.parse_args()
    if args.concurrency < 1:
        ap.error("--concurrency must be >= 1")

    src = sys.stdin if args.users_file == "-" else open(args.users_file, encoding="utf-8")
    users = [line.strip() for line in src if line.strip()]

    session = boto3.session.Session(
        aws_access_key_id=args.access_key_id, aws_secret_access_key=args.secret_access_key,
        region_name=args.region)
    client = session.client(
        "iam", endpoint_url=args.endpoint_url,
        config=Config(retries={"mode": "standard", "max_attempts": args.max_attempts},
                      max_pool_connections=args.concurrency, tcp_keepalive=True))

    attempts = 0
    attempts_lock = threading.Lock()

    def count_attempt(**_kwargs):
        nonlocal attempts
        with attempts_lock:
            attempts += 1

    client.meta.events.register("before-send.iam", count_attempt)
    off = Offboarder(client, backoff_base=args.backoff_base, backoff_cap=args.backoff_cap,
                     backoff_attempts=args.backoff_attempts, conflict_rounds=args.conflict_rounds)

    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        results = list(pool.map(off.offboard, users))
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)

    outcomes: dict[str, int] = {}
    errors = []
    for user, (outcome, error) in zip(users, results):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if error and len(errors) < 10:
            errors.append({"user": user, "error": error})
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    print(json.dumps({
        "users": len(users),
        "outcomes": outcomes,
        "http_attempts": attempts,
        "own_backoff_retries": off.own_retries,
        "concurrency": args.concurrency,
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "calls_per_second": round(attempts / wall, 1) if wall > 0 else None,
        "cpu_ms_per_1000_calls": round(cpu * 1e6 / attempts, 1) if attempts else None,
        "first_errors": errors,
    }))
    return 0 if outcomes.get("failed", 0) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
