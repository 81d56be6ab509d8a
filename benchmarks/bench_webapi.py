"""One Web API call's cost: slack_sdk's own transport (a new connection, and over HTTPS a new TLS
session, for every call) against the bot's client, which keeps each thread's connection open.

    python -m benchmarks.bench_webapi [--calls 200]

Both clients post ``--calls`` messages one after another to the loopback fake of the Web API from
the tests, over plain HTTP and over TLS (a self-signed certificate made with ``openssl``), in
alternating blocks. The loopback has no network round trip: over the internet each new connection
also costs the round trips of the TCP and TLS handshakes (two to three), which this cannot show.
"""

from __future__ import annotations

import argparse
import ssl
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from slack_sdk import WebClient

from bot.slack_client import CountingWebClient
from tests.bot_fakes import BOT_TOKEN, FakeSlack

from .machine import machine_line
from .metrics import percentile


@dataclass
class Row:
    label: str
    wall_ms: list[float]
    cpu_ms: float  # this process's CPU per call (client and fake server: both are here)
    connections: int


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def fake(tls: tuple[Path, Path] | None) -> FakeSlack:
    f = FakeSlack()
    if tls is not None:
        served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        served.load_cert_chain(*tls)
        f.server.socket = served.wrap_socket(f.server.socket, server_side=True)
    return f.start()


class SdkTransport(CountingWebClient):
    """The same client with slack_sdk's own transport (a connection per call)."""

    _perform_urllib_http_request_internal = WebClient._perform_urllib_http_request_internal


def measure(kind: type[WebClient], server: FakeSlack, url: str, context: ssl.SSLContext | None, calls: int) -> Row:
    client = kind(token=BOT_TOKEN, base_url=url, ssl=context)
    client.chat_postMessage(channel="C1", text="warm-up")
    before, walls = server.connections, []
    cpu0 = time.process_time()
    for n in range(calls):
        t = time.perf_counter()
        client.chat_postMessage(channel="C1", text=f"message {n}")
        walls.append((time.perf_counter() - t) * 1000)
    cpu = (time.process_time() - cpu0) * 1000 / calls
    return Row("", walls, cpu, server.connections - before)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cert_key = self_signed(Path(tmp))
        plain, tls = fake(None), fake(cert_key)
        trusted = ssl.create_default_context(cafile=str(cert_key[0]))
        setups = [("HTTP", plain, plain.base_url, None), ("HTTPS", tls, tls.base_url.replace("http:", "https:"), trusted)]
        rows: dict[str, list[Row]] = {}
        try:
            for _ in range(args.rounds):  # alternating blocks, so both see the machine's same moods
                for proto, server, url, context in setups:
                    for label, kind in (("slack_sdk's transport (a connection per call)", SdkTransport),
                                        ("the bot's client (connection kept)", CountingWebClient)):
                        rows.setdefault(f"{proto}: {label}", []).append(measure(kind, server, url, context, args.calls))
        finally:
            plain.stop()
            tls.stop()
    print(f"chat.postMessage to the loopback fake, {args.calls} calls one after another, {args.rounds} alternating "
          "blocks each; CPU = this process's (the client and the fake server both run here)\n")
    print("| transport | p50 ms | p95 ms | CPU ms per call | new connections per call |")
    print("|---|---:|---:|---:|---:|")
    for name, blocks in rows.items():
        walls = [w for r in blocks for w in r.wall_ms]
        print(f"| {name} | {statistics.median(walls):.2f} | {percentile(walls, 95):.2f} | "
              f"{statistics.mean(r.cpu_ms for r in blocks):.2f} | "
              f"{sum(r.connections for r in blocks) / (args.calls * len(blocks)):.2f} |")
    print(f"\n_{machine_line(('slack_sdk',))}_")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
