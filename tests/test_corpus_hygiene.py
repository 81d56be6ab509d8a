"""The corpus holds only what is in it: links out of it are not followed, ``add`` refuses files the
loader would skip, and Slack replies name no server paths (the log does)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from retrieval.catalog import Catalog
from retrieval.corpus import article_name_problem, load_corpus
from retrieval.errors import EmbeddingError, IndexCorruptError, IndexMismatchError
from retrieval.service import QAService
from retrieval.settings import RetrievalSettings
from tests.bot_fakes import FakeSlack, ScriptedAnswerer
from tests.bot_fixtures import QUESTION, ZH_QUESTION, mention, texts_of, wait_told
from tests.retrieval_fixtures import SEED, make_corpus

SECRET = "root:x:0:0:root:/root:/bin/bash\nThis file is outside the corpus and must never be indexed or quoted.\n"


def test_links_out_of_the_corpus_are_not_followed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = make_corpus(tmp_path, with_fixtures=False)
    outside = tmp_path / "outside"
    (outside / "etc").mkdir(parents=True)
    (outside / "passwd.txt").write_text(SECRET, encoding="utf-8")
    (outside / "etc" / "shadow.txt").write_text(SECRET, encoding="utf-8")
    (corpus / "articles" / "passwd.txt").symlink_to(outside / "passwd.txt")
    (corpus / "articles" / "etc").symlink_to(outside / "etc", target_is_directory=True)
    (corpus / "drafts").mkdir()
    (corpus / "drafts" / "inside.md").write_text("---\ntitle: Inside\n---\nA draft kept in the corpus folder.\n")
    (corpus / "articles" / "inside-link.md").symlink_to(corpus / "drafts" / "inside.md")  # stays inside: fine
    with caplog.at_level(logging.WARNING):
        articles, warnings = load_corpus(corpus)
    assert [a.path for a in articles] == sorted(["articles/inside-link.md", f"articles/{SEED.name}"])
    assert not any("root:x:0:0" in a.text for a in articles)
    assert warnings == ["skipped articles/passwd.txt: a link to a file outside the corpus"]
    assert "articles/passwd.txt" in caplog.text and str(outside) not in caplog.text
    assert Catalog.load(corpus).find_text(SECRET) is None


@pytest.mark.parametrize(("name", "reason"), [
    ("notes.pdf", "not a corpus file type (.md, .markdown, .txt, .html, .htm)"),
    ("_draft.md", "names starting with '_' or '.' are not loaded"),
    (".hidden.md", "names starting with '_' or '.' are not loaded"),
    ("README.md", "README.md is the corpus's own notes, not an article"),
    ("readme.MD", "README.md is the corpus's own notes, not an article"),
])
def test_add_refuses_files_the_loader_would_skip(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 name: str, reason: str) -> None:
    corpus = make_corpus(tmp_path, with_fixtures=False)
    src = tmp_path / "in" / name
    src.parent.mkdir()
    src.write_text("---\ntitle: Would be skipped\n---\nA readable article the loader would never load.\n")
    code = main(["add", str(src), "--corpus", str(corpus), "--data", str(tmp_path / "d")])
    out, err = capsys.readouterr()
    assert code == 1 and "added" not in out
    assert err.strip() == f"error: {src}: {reason}; not added"
    assert sorted(p.name for p in (corpus / "articles").iterdir()) == [SEED.name]
    assert article_name_problem(name) == reason


def test_the_loader_and_add_share_one_rule(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, with_fixtures=False)
    for name in ("ok.md", "ok.HTML", "notes.pdf", "_x.md", ".x.md", "README.md", "readme.markdown"):
        (corpus / "articles" / name).write_text("Some text for the corpus loader to read.\n")
    loaded = {a.path.removeprefix("articles/") for a in load_corpus(corpus)[0]} - {SEED.name}
    assert loaded == {n for n in ("ok.md", "ok.HTML", "readme.markdown") if article_name_problem(n) is None}


def test_a_missing_index_is_explained_without_server_paths(make_bot: Any, fake_slack: FakeSlack, tmp_path: Path,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    settings = RetrievalSettings(corpus_dir=make_corpus(tmp_path, with_fixtures=False), data_dir=tmp_path / "empty")
    bot = make_bot(answerer=QAService(settings))
    with caplog.at_level(logging.WARNING):
        bot.post_event(mention(QUESTION, ts="1700000009.000100"))
        [post] = wait_told(fake_slack)
    reply = texts_of(post)
    assert "the index has not been built yet" in reply and str(tmp_path) not in reply
    assert str(tmp_path / "empty") in caplog.text  # the operator still sees where


@pytest.mark.parametrize(("error", "question", "expected"), [
    (IndexCorruptError("the index in /srv/industry-qa/data/index is damaged; run `industry-qa index --rebuild`"),
     QUESTION, "the index needs to be rebuilt"),
    (IndexMismatchError("the index was built with embeddings 'x' but 'y' is configured"), ZH_QUESTION, "索引需要重建"),
    (EmbeddingError("the embedding model failed on the question (OSError: /srv/models/e5: No such file)"),
     QUESTION, "the embedding model failed"),
])
def test_retrieval_errors_are_worded_for_people_not_operators(make_bot: Any, fake_slack: FakeSlack, error: Exception,
                                                             question: str, expected: str) -> None:
    bot = make_bot(answerer=ScriptedAnswerer(error=error))
    bot.post_event(mention(question, ts="1700000009.000200"))
    [post] = wait_told(fake_slack)
    assert expected in texts_of(post) and "/srv/" not in texts_of(post)

