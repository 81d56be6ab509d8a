from __future__ import annotations

import logging
from pathlib import Path

import pytest

from retrieval.corpus import ArticleError, load_article, load_corpus, to_markdown
from tests.retrieval_fixtures import FIXTURES, SEED, make_corpus


def test_seed_article_front_matter_and_text_kept_as_written() -> None:
    art = load_article(SEED)
    assert art.title == "大模型第一股之争:MiniMax、智谱、月之暗面竞相赴港IPO"
    assert "搜狐财经" in art.outlet and "Sohu" in art.outlet
    assert art.published.startswith("2025-12-11T13:45") and art.published.endswith("+08:00")
    assert art.language == "en" and art.url == ""
    seed_source = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_543463c0369e6d7c.txt"
    if seed_source.exists():  # the shared folder sits beside the repo on dev machines and in CI
        assert art.text == seed_source.read_text(encoding="utf-8").strip()
    assert "[3][4]" in art.text  # the source's own reference marks stay


def test_txt_uses_first_line_as_title() -> None:
    art = load_article(FIXTURES / "articles" / "cooling-fixture.txt")
    assert art.title.startswith("FIXTURE: Cooling")
    assert art.language == "en" and art.outlet == ""


def test_html_keeps_main_text_and_metadata_not_navigation() -> None:
    art = load_article(FIXTURES / "page-fixture.html")
    assert art.title == "FIXTURE: MiniMax sets IPO date"
    assert art.outlet == "Example News"
    assert art.url == "https://example.test/minimax-ipo"
    assert art.published == "2025-12-22T08:00:00Z"
    assert "January 9" in art.text
    for junk in ("Subscribe", "tracking", "header banner", "gadgets", "Copyright"):
        assert junk not in art.text


def test_chinese_article_detected() -> None:
    art = load_article(FIXTURES / "articles" / "moonshot-funding-fixture.md")
    assert art.language == "zh" and art.outlet.startswith("测试通讯社")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.md", b"", "file is empty"),
        ("blank.txt", b"  \n\n ", "file is empty"),
        ("latin1.txt", "caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8"),
        ("badyaml.md", b"---\ntitle: [unclosed\n---\nbody text here\n", "front matter is not valid YAML"),
        ("nobody.md", b"---\ntitle: only metadata\n---\n\n", "no article text"),
    ],
)
def test_bad_files_are_skipped_with_a_named_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                     name: str, content: bytes, reason: str) -> None:
    corpus = make_corpus(tmp_path, with_fixtures=False)
    (corpus / "articles" / name).write_bytes(content)
    with caplog.at_level(logging.WARNING):
        articles, warnings = load_corpus(corpus)
    assert [a.path for a in articles] == [f"articles/{SEED.name}"]  # the good one still loads
    assert len(warnings) == 1 and name in warnings[0] and reason in warnings[0]
    assert "\n" not in warnings[0]
    assert name in caplog.text


def test_unreadable_path_is_an_article_error(tmp_path: Path) -> None:
    with pytest.raises(ArticleError, match="cannot read"):
        load_article(tmp_path / "missing.md")


def test_fetched_at_is_read_from_front_matter_but_not_part_of_the_content_hash(tmp_path: Path) -> None:
    body = "Zhipu AI passed its listing hearing at the Hong Kong stock exchange on Friday."
    quoted, bare, none = tmp_path / "quoted.md", tmp_path / "bare.md", tmp_path / "none.md"
    quoted.write_text(f"---\ntitle: T\nfetched_at: '2026-11-25T02:00:00Z'\n---\n{body}\n", encoding="utf-8")
    bare.write_text(f"---\ntitle: T\nfetched_at: 2026-11-25T02:00:00Z\n---\n{body}\n", encoding="utf-8")
    none.write_text(f"---\ntitle: T\n---\n{body}\n", encoding="utf-8")
    a, b, c = load_article(quoted), load_article(bare), load_article(none)
    assert a.fetched_at == "2026-11-25T02:00:00Z" and b.fetched_at == "2026-11-25 02:00:00+00:00"  # YAML's own type
    assert c.fetched_at == "" and a.content_hash == c.content_hash
    again = tmp_path / "again.md"
    again.write_text(to_markdown(a), encoding="utf-8")
    assert load_article(again).fetched_at == a.fetched_at
