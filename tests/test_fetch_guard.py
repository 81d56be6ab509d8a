"""Ingestion fetches public web sites only: every hop's address is checked, and the connection goes to
the address that was checked. Loopback servers are reached only through FETCH_ALLOW_HOSTS."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.fetch import Fetcher, FetchError
from retrieval.settings import IngestSettings, RetrievalSettings, SettingsError
from tests.web_fixtures import FixtureWeb, Page, serve_standard_site

ARTICLE = "/news/zhipu-hearing-fixture"
TLS = Path(__file__).resolve().parent / "fixtures" / "tls"


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


def limits(*allow: str) -> IngestSettings:
    return IngestSettings(fetch_timeout_s=2.0, fetch_max_bytes=20_000, fetch_allow_hosts=allow)


class FlippingResolver:
    """A DNS server under an attacker's control: its answers change from one lookup to the next."""

    def __init__(self, *answers: str) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return [self.answers[(len(self.calls) - 1) % len(self.answers)]]


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}" + ARTICLE,
    "http://localhost:{port}" + ARTICLE,
    "http://[::1]:{port}" + ARTICLE,
    "http://2130706433:{port}" + ARTICLE,  # 127.0.0.1 as one decimal number
    "http://0x7f.1:{port}" + ARTICLE,  # hexadecimal, short form
    "http://0x7f000001:{port}" + ARTICLE,  # hexadecimal, one number
    "http://017700000001:{port}" + ARTICLE,  # octal, one number
    "http://127.1:{port}" + ARTICLE,
    "http://[::ffff:127.0.0.1]:{port}" + ARTICLE,  # IPv4-mapped IPv6
    "http://0.0.0.0:{port}" + ARTICLE,  # reaches this machine on Linux
    "http://0:{port}" + ARTICLE,
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
    "http://10.0.0.5/", "http://172.16.3.4/", "http://192.168.1.1/", "http://100.64.0.1/",  # private, shared
    "http://[fd00::1]/", "http://[fe80::1]/", "http://[fec0::1]/",  # unique-local, link-local, site-local
    "http://224.0.0.1/", "http://[ff02::1]/", "http://240.0.0.1/",  # multicast, reserved
    "http://[64:ff9b::7f00:1]/", "http://[2002:7f00:1::]/",  # loopback inside NAT64 and 6to4 addresses
])
def test_internal_addresses_are_refused_without_connecting(web: FixtureWeb, url: str) -> None:
    with Fetcher(limits()) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(url.format(port=web.server.server_address[1]))
    assert err.value.code == "private_address" and not err.value.transient
    assert str(err.value).startswith("refused: that address is on a private or local network")
    assert web.requests == []  # not even robots.txt was asked for


def test_octal_looking_host_is_an_invalid_url_not_a_crash(web: FixtureWeb) -> None:
    with Fetcher(limits()) as fetcher, pytest.raises(FetchError, match="^not a valid URL"):
        fetcher.get(f"http://0177.0.0.1:{web.server.server_address[1]}{ARTICLE}")
    assert web.requests == []


def test_allow_list_opens_exactly_what_it_names(web: FixtureWeb) -> None:
    port = web.server.server_address[1]
    with Fetcher(limits("127.0.0.0/8")) as fetcher:
        assert fetcher.get(f"http://2130706433:{port}{ARTICLE}").status == 200  # the network, however written
    with Fetcher(limits("localhost")) as fetcher:  # a name: that name only, not its address written out
        assert fetcher.get(f"http://localhost:{port}{ARTICLE}").status == 200
        with pytest.raises(FetchError) as err:
            fetcher.get(f"http://127.0.0.1:{port}{ARTICLE}")
        assert err.value.code == "private_address"


def test_every_redirect_hop_is_checked(web: FixtureWeb) -> None:
    port = web.server.server_address[1]
    web.add("/to-loopback", Page(b"", status=302, headers={"Location": f"http://127.0.0.1:{port}{ARTICLE}"}))
    web.add("/to-metadata", Page(b"", status=301, headers={"Location": "http://169.254.169.254/latest/meta-data/"}))
    with Fetcher(limits("localhost")) as fetcher:
        for hop in ("/to-loopback", "/to-metadata"):
            with pytest.raises(FetchError) as err:
                fetcher.get(f"http://localhost:{port}{hop}")
            assert err.value.code == "private_address"
    assert web.hits(ARTICLE) == []  # the redirect's target was never asked for


def test_connects_to_the_address_it_checked(web: FixtureWeb) -> None:
    """A name whose DNS answer flips between an allowed and a private address (DNS rebinding): one
    lookup per connection, checked, then used. Resolving again to connect would reach 10.0.0.1."""
    port = web.server.server_address[1]
    dns = FlippingResolver("127.0.0.1", "10.0.0.1")
    with Fetcher(limits("127.0.0.1"), resolve=dns) as fetcher:
        got = fetcher.get(f"http://news.rebind.test:{port}{ARTICLE}")
    assert got.status == 200 and dns.calls == ["news.rebind.test"]  # robots.txt and page on one connection
    assert {r.headers["host"] for r in web.requests} == {f"news.rebind.test:{port}"}  # the name, not the address
    with Fetcher(limits("127.0.0.1"), resolve=dns) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(f"http://news.rebind.test:{port}{ARTICLE}")  # a new connection: a new lookup, 10.0.0.1
    assert err.value.code == "private_address"


def test_a_name_with_one_private_address_among_public_ones_is_refused(web: FixtureWeb) -> None:
    def dns(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    with Fetcher(limits(), resolve=dns) as fetcher, pytest.raises(FetchError) as err:
        fetcher.get(f"http://mixed.test:{web.server.server_address[1]}{ARTICLE}")
    assert err.value.code == "private_address" and web.requests == []


def test_fetch_allow_hosts_setting() -> None:
    assert RetrievalSettings.from_env({}).ingest.fetch_allow_hosts == ()  # default: public addresses only
    env = {"FETCH_ALLOW_HOSTS": "intranet.example.com, 10.1.0.0/16 ,127.0.0.1; [fd00::1]  Wiki.Corp."}
    assert RetrievalSettings.from_env(env).ingest.fetch_allow_hosts == (
        "intranet.example.com", "10.1.0.0/16", "127.0.0.1", "fd00::1", "wiki.corp")
    with pytest.raises(SettingsError, match=r"FETCH_ALLOW_HOSTS: 'http://x' is not a host name, address or network"):
        RetrievalSettings.from_env({"FETCH_ALLOW_HOSTS": "http://x"})
    with pytest.raises(SettingsError, match=r"FETCH_ALLOW_HOSTS: '10\.0\.0\.0/33' is not a host name"):
        RetrievalSettings.from_env({"FETCH_ALLOW_HOSTS": "10.0.0.0/33"})


def test_tls_checks_the_name_while_connecting_to_the_checked_address(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connecting to an address, not a name, must not weaken TLS: SNI and the certificate check use
    the host name (the certificate is for news.example, served from 127.0.0.1)."""
    site = FixtureWeb()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    site.server.socket = context.wrap_socket(site.server.socket, server_side=True)
    site.add("/news/tls", Page(b"<html><body><p>served over TLS</p></body></html>"))
    site.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "ca.pem"))  # the test CA, and only it
    port = site.server.server_address[1]

    def dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    try:
        with Fetcher(limits("127.0.0.1"), resolve=dns) as fetcher:
            got = fetcher.get(f"https://news.example:{port}/news/tls")
            assert got.status == 200 and b"served over TLS" in got.body
            assert site.hits("/news/tls")[0].headers["host"] == f"news.example:{port}"
            with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
                fetcher.get(f"https://other.example:{port}/news/tls")  # same address, a name the certificate lacks
    finally:
        site.stop()
