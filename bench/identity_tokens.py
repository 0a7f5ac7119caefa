"""Identity tokens: kit verifications/s on one core, password sign-ins/s, refreshes/s.

1. Token verification through `puhui.kit.tokens.JwtVerifier` in this process, one thread
   (one core): "cold" = every token distinct (full ES256 signature check, claims, Redis
   revocation snapshot); "warm" = the same token presented again (the verifier's cache of
   verified tokens; expiry, key set and revocation still checked). Ceiling: the bare ES256
   signature check of `cryptography` over the same tokens. Target (issue 3): ≥ 10,000/s.
2. Password sign-ins/s and 3. refreshes/s through the real service
   (`python -m puhui.identity`, its own process, PostgreSQL + Redis + Kafka from `make up`,
   argon2id at the documented defaults: 19 MiB, 2 iterations, 1 lane), driven by a grpc.aio
   client. Refreshes follow realistic chains: each caller presents the refresh token the
   previous refresh returned (rotation on every use). Beside Keycloak's published sizing
   (15 password sign-ins/s and 120 refreshes/s per vCPU) as ratios, and the no-op grpcio
   server measured in the same run as the RPC ceiling.

This machine is shared (2 vCPUs, other processes running), so besides wall-clock rates every
figure is also given per CPU-second actually used: the verifier thread's CPU time, and the
identity process's own CPU time (/proc/<pid>/stat) for sign-ins and refreshes — the quantity
Keycloak's per-vCPU sizing describes. The load average before and after is recorded.

    python bench/identity_tokens.py [--quick] [--concurrency 8] [--duration 10]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import grpc.aio
import redis
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

try:  # `python -m bench.identity_tokens` from the repository root
    from bench import harness
except ImportError:  # `python bench/identity_tokens.py`: bench/ is the script's folder
    import harness  # type: ignore[no-redef]
from puhui.identity import crypto
from puhui.identity.v1 import identity_pb2 as pb
from puhui.identity.v1 import identity_pb2_grpc
from puhui.kit import tokens as kt
from puhui.kit.testing import infra, temporary_database

NODE = "440000"
SERVICE = "/puhui.identity.v1.IdentityService/"
PASSWORD = "Bench-Password-2026"  # noqa: S105 (a throwaway account in a throwaway database)
KEYCLOAK_SIGNINS_PER_VCPU = 15.0  # Keycloak "Concepts for sizing CPU and memory resources"
KEYCLOAK_REFRESHES_PER_VCPU = 120.0


# -- 1. verification, one core ---------------------------------------------------------------
def make_tokens(count: int) -> tuple[crypto.NewKeyPair, list[str]]:
    pair = crypto.generate_key_pair(NODE)
    key = crypto.load_private_key(pair.private_pem)
    now = int(time.time())
    tokens = [
        crypto.sign_access_token(
            {
                "iss": NODE,
                "sub": f"{NODE}:{uuid.uuid4()}",
                "aud": "puhui",
                "iat": now,
                "nbf": now,
                "exp": now + 900,
                "jti": str(uuid.uuid4()),
                "sid": str(uuid.uuid4()),
                "acr": kt.ACR_BY_LEVEL[kt.ASSURANCE_LOW],
                "roles": ["innovator", "institution_staff:440000-000001"],
                "orgs": [[f"{NODE}:{uuid.uuid4()}", "member"]],
            },
            key,
            pair.kid,
        )
        for _ in range(count)
    ]
    return pair, tokens


def rate(fn, items: list[str]) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(items per wall-clock second, items per CPU-second of this thread)."""
    started, cpu = time.perf_counter(), time.thread_time()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started), len(items) / (time.thread_time() - cpu)


def bench_verification(count: int, redis_url: str, rounds: int) -> dict[str, float]:
    """Best of `rounds` interleaved passes (raw, cold Redis, cold memory, warm): on a shared
    2-core machine the best pass is the one least disturbed by other processes."""
    pair, tokens = make_tokens(count)
    key_sets = kt.KeySets()
    key_sets.put(NODE, {"keys": [pair.public_jwk]})
    client = redis.Redis.from_url(redis_url)
    revocations = kt.RedisRevocationStore(client, key=f"bench:revoked:{uuid.uuid4()}")
    revocations.revoke("some-other-jti", time.time() + 60)  # a non-empty list
    public = crypto.load_private_key(pair.private_pem).public_key()

    def raw(token: str) -> None:
        signing_input, _, signature = token.rpartition(".")
        sig = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        der = utils.encode_dss_signature(
            int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
        )
        public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))

    rate(raw, tokens[: min(500, count)])  # warm up
    # As in a served process (`puhui.kit.server.run` freezes what start-up built): the
    # collector's full passes scan what requests create, not the imported modules.
    gc.freeze()
    best: dict[str, float] = {}
    for _ in range(rounds):  # wall-clock figures: best round; CPU-time figures: best round
        cold = kt.JwtVerifier(key_sets, "puhui", [NODE], revocations, cache_size=count + 1)
        memory = kt.JwtVerifier(
            key_sets, "puhui", [NODE], kt.MemoryRevocationStore(), cache_size=count + 1
        )
        figures = {
            "raw_es256": rate(raw, tokens),
            "cold_redis": rate(cold.verify, tokens),
            "cold_memory": rate(memory.verify, tokens),
            "warm_redis": rate(cold.verify, tokens),  # every token now in the cache
        }
        for key, (wall, cpu) in figures.items():
            best[key] = max(best.get(key, 0.0), wall)
            best[f"{key}_cpu"] = max(best.get(f"{key}_cpu", 0.0), cpu)
    client.close()
    return best


# -- 2 and 3: through the service ------------------------------------------------------------
def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def identity_process(env: dict[str, str]) -> Iterator[tuple[str, int]]:
    """`python -m puhui.identity` in its own process: (address, pid) once SERVING."""
    port = harness.free_port()
    full_env = {
        **os.environ,
        "PUHUI_GRPC_PORT": str(port),
        "PUHUI_METRICS_PORT": "0",
        "PUHUI_LOG_LEVEL": "WARNING",
        **env,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "puhui.identity"],
        env=full_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    target = f"127.0.0.1:{port}"
    try:
        harness.wait_serving(target)
        yield target, proc.pid
    finally:
        proc.terminate()
        proc.wait(15)


class Window:
    """The measured window: wall-clock and the server's CPU seconds."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cpu = 0.0

    def start(self) -> None:
        self.cpu = -process_cpu_seconds(self.pid)

    def stop(self) -> None:
        self.cpu += process_cpu_seconds(self.pid)


async def _sign_ins(
    target: str, logins: list[str], concurrency: int, duration: float, warmup: float, window: Window
) -> harness.LoadResult:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        latencies: list[float] = []
        errors = 0
        measuring = False
        stop_at = float("inf")

        async def worker(n: int) -> None:
            nonlocal errors
            login = logins[n % len(logins)]
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    await stub.SignIn(pb.SignInRequest(login=login, password=PASSWORD), timeout=30)
                    ok = True
                except grpc.aio.AioRpcError:
                    ok = False
                if measuring:
                    latencies.append(time.perf_counter() - started)
                    errors += not ok

        tasks = [asyncio.create_task(worker(n)) for n in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        window.start()
        began = time.perf_counter()
        stop_at = began + duration
        await asyncio.gather(*tasks)
        window.stop()
        return harness.LoadResult(
            len(latencies) - errors, errors, time.perf_counter() - began, latencies
        )


async def _refreshes(
    target: str, logins: list[str], concurrency: int, duration: float, warmup: float, window: Window
) -> harness.LoadResult:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        chains = [
            (
                await stub.SignIn(
                    pb.SignInRequest(login=logins[n % len(logins)], password=PASSWORD), timeout=30
                )
            ).refresh_token
            for n in range(concurrency)
        ]
        latencies: list[float] = []
        errors = 0
        measuring = False
        stop_at = float("inf")

        async def worker(n: int) -> None:
            nonlocal errors
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    reply = await stub.RefreshTokens(
                        pb.RefreshTokensRequest(refresh_token=chains[n]), timeout=30
                    )
                    chains[n] = reply.refresh_token
                    ok = True
                except grpc.aio.AioRpcError:
                    ok = False
                if measuring:
                    latencies.append(time.perf_counter() - started)
                    errors += not ok
                if not ok:
                    return

        tasks = [asyncio.create_task(worker(n)) for n in range(concurrency)]
        await asyncio.sleep(warmup)
        measuring = True
        window.start()
        began = time.perf_counter()
        stop_at = began + duration
        await asyncio.gather(*tasks)
        window.stop()
        return harness.LoadResult(
            len(latencies) - errors, errors, time.perf_counter() - began, latencies
        )


def register_people(target: str, count: int) -> list[str]:
    logins = []
    with grpc.insecure_channel(target) as channel:
        stub = identity_pb2_grpc.IdentityServiceStub(channel)
        for _ in range(count):
            email = f"bench-{uuid.uuid4().hex[:10]}@example.cn"
            stub.RegisterPerson(
                pb.RegisterPersonRequest(display_name="基准", email=email, password=PASSWORD),
                timeout=30,
            )
            logins.append(email)
    return logins


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 s per figure instead of 10")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--name", default="identity_tokens")
    args = parser.parse_args()
    duration = 3.0 if args.quick else args.duration
    warmup = 1.0 if args.quick else 2.0
    count = 5_000 if args.quick else args.tokens
    cores = os.cpu_count() or 1
    redis_url = infra("PUHUI_REDIS_URL")
    load_before = os.getloadavg()[0]

    verification = bench_verification(count, redis_url, rounds=3 if args.quick else 5)

    with harness.noop_ceiling() as noop:
        ceiling = harness.load(
            noop,
            harness.NOOP_METHOD,
            b"x" * 200,
            concurrency=args.concurrency,
            duration=duration,
            warmup=warmup,
        )

    with temporary_database(infra("PUHUI_POSTGRES_URL"), "bench") as url:
        env = {
            "PUHUI_NODE_ID": NODE,
            "PUHUI_DATABASE_URL": url,
            "PUHUI_REDIS_URL": redis_url,
            "PUHUI_KAFKA_BOOTSTRAP": infra("PUHUI_KAFKA_BOOTSTRAP"),
            "PUHUI_IDENTITY_ID_NUMBER_KEY": base64.b64encode(os.urandom(32)).decode(),
            "PUHUI_IDENTITY_KEY_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
            "PUHUI_IDENTITY_THROTTLE_ADDRESS_CEILING": str(10**9),
        }
        with identity_process(env) as (target, pid):
            logins = register_people(target, args.concurrency)
            sign_in_window, refresh_window = Window(pid), Window(pid)
            sign_ins = asyncio.run(
                _sign_ins(target, logins, args.concurrency, duration, warmup, sign_in_window)
            )
            refreshes = asyncio.run(
                _refreshes(target, logins, args.concurrency, duration, warmup, refresh_window)
            )

    # Per vCPU two ways: wall-clock throughput over the machine's vCPUs (everything on this
    # shared machine, load generator included), and requests per CPU-second the identity
    # process itself used (what Keycloak's sizing counts: the server's CPU).
    signin_per_vcpu = sign_ins.rps / cores
    refresh_per_vcpu = refreshes.rps / cores
    signin_per_cpu_s = sign_ins.requests / sign_in_window.cpu
    refresh_per_cpu_s = refreshes.requests / refresh_window.cpu
    figures = {
        "verify_cold_redis": {"value": round(verification["cold_redis"]), "unit": "tokens/s"},
        "verify_cold_memory": {"value": round(verification["cold_memory"]), "unit": "tokens/s"},
        "verify_warm_redis": {"value": round(verification["warm_redis"]), "unit": "tokens/s"},
        "verify_cold_redis_per_cpu_s": {
            "value": round(verification["cold_redis_cpu"]),
            "unit": "tokens/CPU-s",
        },
        "verify_warm_redis_per_cpu_s": {
            "value": round(verification["warm_redis_cpu"]),
            "unit": "tokens/CPU-s",
        },
        **sign_ins.summary("sign_in_"),
        "sign_in_per_vcpu": {"value": round(signin_per_vcpu, 1), "unit": "req/s"},
        "sign_in_per_server_cpu_s": {"value": round(signin_per_cpu_s, 1), "unit": "req/CPU-s"},
        **refreshes.summary("refresh_"),
        "refresh_per_vcpu": {"value": round(refresh_per_vcpu, 1), "unit": "req/s"},
        "refresh_per_server_cpu_s": {"value": round(refresh_per_cpu_s, 1), "unit": "req/CPU-s"},
    }
    ceil = {
        "verify_cold_redis": {"value": round(verification["raw_es256"]), "unit": "tokens/s"},
        "verify_cold_memory": {"value": round(verification["raw_es256"]), "unit": "tokens/s"},
        "verify_cold_redis_per_cpu_s": {
            "value": round(verification["raw_es256_cpu"]),
            "unit": "tokens/CPU-s",
        },
        "sign_in_per_server_cpu_s": {"value": KEYCLOAK_SIGNINS_PER_VCPU, "unit": "req/s"},
        "refresh_per_server_cpu_s": {"value": KEYCLOAK_REFRESHES_PER_VCPU, "unit": "req/s"},
        "sign_in_per_vcpu": {"value": KEYCLOAK_SIGNINS_PER_VCPU, "unit": "req/s"},
        "refresh_per_vcpu": {"value": KEYCLOAK_REFRESHES_PER_VCPU, "unit": "req/s"},
        **ceiling.summary("sign_in_"),
        **ceiling.summary("refresh_"),
    }
    harness.write_result(
        args.name,
        figures,
        ceiling=ceil,
        ratios={
            "verify cold (ours/raw ES256 check)": verification["cold_redis"]
            / verification["raw_es256"],
            "verify cold (ours/10,000 target)": verification["cold_redis"] / 10_000,
            "verify cold per CPU-s (ours/10,000 target)": verification["cold_redis_cpu"] / 10_000,
            "verify warm per CPU-s (ours/10,000 target)": verification["warm_redis_cpu"] / 10_000,
            "sign-ins per server CPU-s (ours/Keycloak 15 per vCPU)": (
                signin_per_cpu_s / KEYCLOAK_SIGNINS_PER_VCPU
            ),
            "refreshes per server CPU-s (ours/Keycloak 120 per vCPU)": (
                refresh_per_cpu_s / KEYCLOAK_REFRESHES_PER_VCPU
            ),
            "sign-ins per vCPU (ours/Keycloak 15)": signin_per_vcpu / KEYCLOAK_SIGNINS_PER_VCPU,
            "refreshes per vCPU (ours/Keycloak 120)": refresh_per_vcpu
            / KEYCLOAK_REFRESHES_PER_VCPU,
            "sign-in req/s (ours/noop)": sign_ins.rps / ceiling.rps,
            "refresh req/s (ours/noop)": refreshes.rps / ceiling.rps,
        },
        conditions={
            "node": NODE,
            "verification": (
                f"{count} distinct ES256 tokens, one thread, JwtVerifier with RedisRevocationStore "
                "(1 s snapshot) or MemoryRevocationStore; warm = second pass over the same tokens; "
                "best of 5 interleaved rounds (3 with --quick)"
            ),
            "argon2id": "19456 KiB, time cost 2, parallelism 1 (PUHUI_IDENTITY_ARGON2_* defaults)",
            "service": "python -m puhui.identity, own process, PostgreSQL 15, Redis 7, Kafka 4.1",
            "client": (
                "grpc.aio, one process; refresh = chains, each caller presents the token "
                "its previous refresh returned"
            ),
            "keycloak_sizing": (
                "Keycloak 'Concepts for sizing CPU and memory resources': 15 password logins/s and "
                "120 refresh-token requests/s per vCPU"
            ),
            "vcpus": cores,
            "load_average_1m": {
                "before": round(load_before, 1),
                "after": round(os.getloadavg()[0], 1),
            },
            "concurrency": args.concurrency,
            "duration_s": duration,
            "script": str(Path(__file__).name),
        },
        targets={"verify_cold_redis": "≥ 10,000 tokens/s on one core"},
    )


if __name__ == "__main__":
    main()
