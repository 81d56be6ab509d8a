"""Where ingestion may connect, and for how long: public addresses only, within one deadline per fetch.

Every connection the fetcher opens goes through ``GuardedBackend`` (an httpcore network backend):
it resolves the host once, refuses when any address is not globally routable (loopback, private,
shared, link-local such as the cloud metadata address 169.254.169.254, unique-local, multicast,
reserved, unspecified, and IPv4 hidden in IPv6: mapped, NAT64, 6to4), and then connects to exactly
the address it checked, so a DNS answer that changes between check and connect (rebinding) gains
nothing. Numeric spellings (``2130706433``, ``0x7f.1``, ``127.1``) resolve to the address they
spell and are judged by it. TLS still verifies the certificate for, and sends SNI with, the host
name; the Host header is the name. FETCH_ALLOW_HOSTS opens named hosts or networks on purpose.

The same backend enforces the fetch's deadline (``fetch_deadline``) on name resolution, connect,
TLS and every read and write: a server that trickles its status line a byte at a time cannot hold
a fetch past FETCH_TIMEOUT_S. Environment proxies are not used: a proxy resolves names itself,
out of this check's reach.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

Resolver = Callable[[str, int], list[str]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_DEADLINE: ContextVar[float | None] = ContextVar("fetch_deadline", default=None)


class AddressRefused(Exception):
    """A connection to a non-public address that FETCH_ALLOW_HOSTS does not open."""

    def __init__(self, host: str, address: str) -> None:
        where = address if host == address else f"{host} resolves to {address}, which"
        super().__init__(f"{where} is not a public address")
        self.host = host
        self.address = address


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def is_public(ip: Address) -> bool:
    """Globally routable unicast; an IPv6 address that carries an IPv4 one is judged by both."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (
            ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None)
        if inner is not None and not is_public(inner):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local
                                 or ip.is_private or ip.is_unspecified)


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses, plus the host names and networks listed in FETCH_ALLOW_HOSTS."""

    names: frozenset[str] = frozenset()
    networks: tuple[Network, ...] = ()

    @classmethod
    def allowing(cls, entries: Iterable[str]) -> AddressPolicy:
        names, networks = set(), []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        return cls(frozenset(names), tuple(networks))

    def refused(self, host: str, addresses: list[str]) -> str | None:
        """The first address that may not be connected to, or None when all may."""
        if host.lower().rstrip(".") in self.names:
            return None
        for raw in addresses:
            ip = ipaddress.ip_address(raw)
            if not is_public(ip) and not any(ip.version == n.version and ip in n for n in self.networks):
                return raw
        return None


@contextlib.contextmanager
def fetch_deadline(seconds: float) -> Iterator[None]:
    """Everything the guarded backend does in this block ends ``seconds`` from now (a timeout error)."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _within(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the deadline; ``error`` once nothing is left."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the fetch's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _within(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _within(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self.inner.start_tls(ssl_context, server_hostname, _within(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve once, check every address against ``policy``, connect to a checked address."""

    def __init__(self, policy: AddressPolicy, *, resolve: Resolver = system_resolver,
                 inner: httpcore.NetworkBackend | None = None) -> None:
        self.policy = policy
        self.resolve = resolve
        self.inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        addresses = self._lookup(host, port, _within(timeout, httpcore.ConnectTimeout))
        bad = self.policy.refused(host, addresses)
        if bad is not None:
            raise AddressRefused(host, bad)
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in addresses:
            try:
                stream = self.inner.connect_tcp(address, port, _within(timeout, httpcore.ConnectTimeout),
                                                local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as err:
                error = err
                continue
            return _DeadlineStream(stream)
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)

    def _lookup(self, host: str, port: int, timeout: float | None) -> list[str]:
        """``resolve`` on a helper thread, so that a slow DNS server cannot outlast the deadline."""
        found: list[str] = []
        failure: list[BaseException] = []

        def run() -> None:
            try:
                found.extend(self.resolve(host, port))
            except BaseException as err:  # handed to the caller's thread
                failure.append(err)

        worker = threading.Thread(target=run, name="fetch-resolve", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise httpcore.ConnectTimeout(f"resolving {host} took too long")
        if failure:
            err = failure[0]
            if isinstance(err, OSError):
                raise httpcore.ConnectError(f"cannot resolve {host} ({getattr(err, 'strerror', None) or err})")
            raise err
        return found


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport (request mapping, error mapping) over a connection pool whose every
    connection goes through ``GuardedBackend``."""

    def __init__(self, policy: AddressPolicy, *, resolve: Resolver = system_resolver) -> None:
        super().__init__()
        # httpx has no public way to hand its pool a network backend; its pool attribute is replaced.
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                             network_backend=GuardedBackend(policy, resolve=resolve))
