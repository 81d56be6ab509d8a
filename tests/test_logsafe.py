"""Text from outside reaches the log on one line, with control characters visible as escapes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.corpus import load_corpus
from retrieval.ingest import ingest_urls
from retrieval.logsafe import loggable
from retrieval.settings import IngestSettings, RetrievalSettings
from tests.retrieval_fixtures import HashEmbeddings, make_corpus
from tests.web_fixtures import LOOPBACK_ALLOWED, FixtureWeb, serve_standard_site

RAW_CONTROLS = ("\n", "\r", "\x1b", "\x00", "\x85", "\u2028", "\u202e")


@pytest.mark.parametrize(("text", "logged"), [
    ("plain text, 中文", "plain text, 中文"),
    ("line\nINFO forged", "line\\nINFO forged"),
    ("cr\rover", "cr\\rover"),
    ("\x1b[2Jwiped", "\\x1b[2Jwiped"),
    ("nul\x00", "nul\\x00"),
    ("next\x85line", "next\\x85line"),
    ("sep\u2028arator", "sep\\u2028arator"),
    ("\u202eevil", "\\u202eevil"),
    ("tab\tkept?", "tab\\tkept?"),
])
def test_loggable_escapes_control_characters(text: str, logged: str) -> None:
    assert loggable(text) == logged


def test_loggable_cuts_long_text() -> None:
    assert loggable("x" * 1000, limit=10) == "xxxxxxxxxx…(+990 chars)"


@pytest.fixture
def web() -> Iterator[FixtureWeb]:
    yield from serve_standard_site()


def no_raw_controls(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert not any(c in message for c in RAW_CONTROLS), repr(message)


def test_a_url_with_control_characters_is_logged_escaped(web: FixtureWeb, tmp_path: Path,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    url = web.url("/news/missing\u2028WARNING bot: forged \x1b[31mline")
    settings = RetrievalSettings(corpus_dir=tmp_path / "corpus", data_dir=tmp_path / "data", embeddings="test/hash-64",
                                 ingest=IngestSettings(fetch_timeout_s=2.0, fetch_allow_hosts=LOOPBACK_ALLOWED))
    with caplog.at_level(logging.INFO):
        result = ingest_urls(settings, [url], embeddings=HashEmbeddings())
    assert result.failed and any("\\u2028WARNING bot: forged \\x1b[31mline" in r.getMessage() for r in caplog.records)
    no_raw_controls(caplog)


def test_a_file_name_with_a_newline_is_logged_escaped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = make_corpus(tmp_path, with_fixtures=False)
    (corpus / "articles" / "empty\nWARNING forged.md").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        load_corpus(corpus)
    assert any("empty\\nWARNING forged.md" in r.getMessage() for r in caplog.records)
    no_raw_controls(caplog)
