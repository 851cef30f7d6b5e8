"""A real Mosquitto for tests: started on a free loopback port, killed afterwards.

``Mosquitto(tmp_path)`` writes its own config (no persistence, anonymous, loopback only) and
optionally a TLS listener with a test CA (made here with ``cryptography``). ``restart()`` keeps
the port, so clients can reconnect. The Debian system service is never used.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import getpass
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiomqtt
import pytest

from treadwalk.core.model import (
    BeltState,
    ConnectionState,
    Cue,
    Phase,
    Plan,
    PlanSegment,
    SessionEvent,
    SessionSnapshot,
    TreadmillState,
)


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    if found is None:
        pytest.fail("mosquitto is not installed: run scripts/test.sh (it installs Debian's mosquitto)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s") from None
            time.sleep(0.02)


@dataclass(frozen=True)
class TestPki:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost, and a client certificate."""

    __test__ = False  # not a test class

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path  # a CA that signed nothing here: verification must fail with it


def make_pki(directory: Path) -> TestPki:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = dt.datetime.now(dt.UTC)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(k: ec.EllipticCurvePrivateKey, path: Path) -> Path:
        path.write_bytes(
            k.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def write_cert(c: x509.Certificate, path: Path) -> Path:
        path.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        return path

    def make_ca(cn: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        k = key()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(name(cn))
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(k.public_key()), critical=False)
            .sign(k, hashes.SHA256())
        )
        return k, cert

    def leaf(
        ca_key: ec.EllipticCurvePrivateKey, ca_cert: x509.Certificate, cn: str, *, server: bool
    ) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
        k = key()
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(cn))
            .issuer_name(ca_cert.subject)
            .public_key(k.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        return k, builder.sign(ca_key, hashes.SHA256())

    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = make_ca("treadwalk test CA")
    server_key, server_cert = leaf(ca_key, ca_cert, "localhost", server=True)
    client_key, client_cert = leaf(ca_key, ca_cert, "treadwalk-client", server=False)
    _, other_cert = make_ca("some other CA")
    return TestPki(
        ca=write_cert(ca_cert, directory / "ca.pem"),
        server_cert=write_cert(server_cert, directory / "server.pem"),
        server_key=write_key(server_key, directory / "server.key"),
        client_cert=write_cert(client_cert, directory / "client.pem"),
        client_key=write_key(client_key, directory / "client.key"),
        other_ca=write_cert(other_cert, directory / "other-ca.pem"),
    )


class Mosquitto:
    """One broker process. Use as a context manager (or ``start``/``stop``)."""

    def __init__(self, directory: Path, *, tls: bool = False) -> None:
        self.directory = directory
        self.binary = mosquitto_binary()
        self.port = free_port()
        self.pki: TestPki | None = make_pki(directory / "pki") if tls else None
        self.tls_port = free_port() if tls else None
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        lines = [
            "persistence false",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "per_listener_settings false",
            "allow_anonymous true",
            f"user {getpass.getuser()}",  # as root, do not drop to 'mosquitto' (it cannot read tmp_path)
            f"listener {self.port} 127.0.0.1",
        ]
        if self.pki is not None:
            lines += [
                f"listener {self.tls_port} 127.0.0.1",
                f"cafile {self.pki.ca}",
                f"certfile {self.pki.server_cert}",
                f"keyfile {self.pki.server_key}",
                "require_certificate true",
            ]
        self.conf.write_text("\n".join(lines) + "\n")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [self.binary, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port(self.port)
            if self.tls_port is not None:
                wait_for_port(self.tls_port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {self.log.read_text()[-2000:]}") from None

    def stop(self) -> None:
        """Kill the broker (SIGKILL: no goodbye to the clients), and reap it."""
        if self.process is None:
            return
        process, self.process = self.process, None
        process.kill()
        process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        # the port is ours again at once on Linux (mosquitto sets SO_REUSEADDR)
        self.start()

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float  # time.perf_counter() on arrival

    def json(self) -> Any:
        return json.loads(self.payload)


class Listener:
    """An independent subscriber (plain aiomqtt) that records what arrives, for assertions.

    ``async with Listener(port, "treadwalk/#") as listener: await listener.wait_for(pred)``.
    """

    def __init__(self, port: int, *topics: str, **client_options: Any) -> None:
        self.port = port
        self.topics = topics or ("#",)
        self.client_options = client_options
        self.messages: list[Received] = []
        self._arrived = asyncio.Event()
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> Self:
        client = aiomqtt.Client("127.0.0.1", self.port, **self.client_options)
        await self._stack.enter_async_context(client)
        for topic in self.topics:
            await client.subscribe(topic, qos=1)
        self.client = client
        task = asyncio.create_task(self._collect(client), name="test-listener")

        async def stop() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await task

        self._stack.push_async_callback(stop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(aiomqtt.MqttError):
            await self._stack.aclose()

    async def _collect(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else str(message.payload).encode()
            self.messages.append(Received(str(message.topic), payload, message.retain, time.perf_counter()))
            self._arrived.set()

    def on(self, topic: str) -> list[Received]:
        return [m for m in self.messages if m.topic == topic]

    async def wait_for(
        self, predicate: Callable[[Received], bool], *, within_s: float = 5.0, after: int = 0
    ) -> Received:
        """The first message (from index ``after``) that satisfies ``predicate``; bounded."""
        async with asyncio.timeout(within_s):
            i = after
            while True:
                while i < len(self.messages):
                    if predicate(self.messages[i]):
                        return self.messages[i]
                    i += 1
                self._arrived.clear()
                await self._arrived.wait()


# ---------------------------------------------------------------------------------------------
# Session samples: real SessionSnapshot/SessionEvent objects built from a Plan

PLAN = Plan(
    name="Hill walk",
    segments=(
        PlanSegment("Warm up", "warmup", 4.0, 1.0, duration_s=300),
        PlanSegment("Brisk", "work", 5.5, 4.0, duration_s=600, cues=(Cue("Short quick steps", at_s=10),)),
        PlanSegment("Cool down", "cooldown", 4.0, 0.0, duration_s=300),
    ),
)


def snapshot(
    at: float,
    *,
    phase: Phase = Phase.RUNNING,
    segment: int | None = 0,
    paused_by: str | None = None,
    belt: BeltState = BeltState.RUNNING,
    speed: float | None = 4.0,
    target_speed: float | None = 4.0,
    target_incline: float | None = 1.0,
    heart_rate: int | None = 112,
) -> SessionSnapshot:
    return SessionSnapshot(
        at=at,
        wall=time.time(),  # recent, as a live session's would be
        plan=PLAN,
        phase=phase,
        connection=ConnectionState.CONNECTED,
        segment_index=segment,
        segment_elapsed_s=at,
        segment_remaining_s=300 - at,
        session_elapsed_s=at,
        session_remaining_s=1200 - at,
        target_speed_kmh=target_speed,
        target_incline_pct=target_incline,
        machine=TreadmillState(
            at=at,
            speed_kmh=speed,
            incline_pct=1.0,
            distance_m=at * 1.1,
            elapsed_s=at,
            heart_rate_bpm=heart_rate,
            steps=int(at * 1.8),
            belt=belt,
        ),
        distance_m=at * 1.1,
        paused_by=paused_by,
    )


def event(at: float, kind: str, message: str, **data: Any) -> SessionEvent:
    return SessionEvent(at=at, wall=time.time(), kind=kind, message=message, data=data)
