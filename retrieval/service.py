"""QAService: the one entry point the CLI, the Slack bot and the benchmarks use to answer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .answer import RefusalModel, cite_excerpts, default_refusal_model, refusal
from .embeddings import EmbeddingCache, embed_passages, embed_query, embedder_id, make_embeddings
from .errors import EmptyQuestionError
from .evidence import Candidate, debut_search
from .excerpts import (
    ANSWERED,
    CLOSEST,
    LEAD,
    MAX_SUPPORT,
    REFUSED,
    SUPPORT,
    AnswerModel,
    Excerpt,
    choose,
    decide,
    default_answer_model,
    gate_features,
    gather,
    missing_names,
    newest_leads,
    rank,
)
from .figures import differing
from .freshness import FreshnessCheck
from .fusion import FusionParams
from .glossary import KINDS, NAME, TERM, load_glossary
from .index import LoadedIndex, check_compatible, require_generation
from .llm import LLMAnswerer, make_chat_model
from .llm_context import cited_sentences, model_passages
from .question import Question, analyse_turn, asks_for_news, own_words
from .search import Hit, answer_pool
from .settings import RetrievalSettings
from .text import LANGUAGES, clip_question, content_terms
from .types import Answer

logger = logging.getLogger(__name__)

MAX_HISTORY = 3  # earlier questions of a thread joined to a follow-up
SPARSE_EXTRA = 8  # BM25 chunks added to the answer pool (see search.answer_pool)
RELATED_CONCEPTS = 0.3  # weighted share of a question's terms a related excerpt holds, when it names no company


class QAService:
    """Loads the live index lazily, answers questions, and picks up a newer index on ``reload()``.

    Thread-safe: an answer uses the index generation that was live when it started.
    """

    def __init__(self, settings: RetrievalSettings, *, embeddings: Any = None,
                 refusal_model: RefusalModel | None = None, fusion: FusionParams | None = None,
                 chat_model: Any = None, answer_model: AnswerModel | None = None) -> None:
        self.settings = settings
        self._embeddings = embeddings
        self.refusal_model = refusal_model or default_refusal_model()
        self.answer_model = answer_model or default_answer_model()
        self.fusion = fusion or FusionParams()
        self._index: LoadedIndex | None = None
        self._lock = threading.Lock()
        self._cache: EmbeddingCache | None = None
        self.glossary = load_glossary(settings.corpus_dir)
        self._freshness = FreshnessCheck(settings.index_dir)  # picks up indexes built by other processes
        chat = chat_model if chat_model is not None else make_chat_model(settings.llm)
        self.llm: LLMAnswerer | None = LLMAnswerer(chat, settings.llm) if chat is not None else None

    @property
    def embeddings(self) -> Any:
        if self._embeddings is None:
            s = self.settings
            self._embeddings = make_embeddings(s.embeddings, base_url=s.embeddings_base_url, api_key=s.embeddings_api_key)
        return self._embeddings

    @property
    def model_id(self) -> str:
        return embedder_id(self.settings.embeddings, self.embeddings)

    def index(self) -> LoadedIndex:
        with self._lock:
            if self._index is None:
                self._index = self._load()
            return self._index

    def reload(self) -> bool:
        """Switch to a newer index generation if one was built since; True when switched."""
        gen = require_generation(self.settings)
        with self._lock:
            if self._index is not None and self._index.gen_dir == gen:
                return False
        fresh = self._load()
        with self._lock:
            self._index = fresh
        logger.info("loaded index generation %s", fresh.gen_dir.name)
        return True

    def _load(self) -> LoadedIndex:
        gen: Path = require_generation(self.settings)
        loaded = LoadedIndex(gen)
        check_compatible(loaded.manifest, self.settings, self.model_id)
        loaded.dense  # noqa: B018  (read the approximate index, or fill the exact one, before the first question)
        return loaded

    def ask(self, question: str, *, history: Sequence[str] = (), k: int | None = None,
            on_partial: Callable[[str], None] | None = None, asked_on: date | None = None) -> Answer:
        """Answer with cited excerpts: answered, the closest the corpus comes, or refused.
        ``history``: the thread's earlier questions, oldest first. ``on_partial`` receives the
        growing model answer, as far as it is safe to show, while a language model writes.
        ``asked_on``: the day the question is asked (default today); articles published after it
        are not used.

        The question is read here and only here: whitespace normalised, cut to MAX_QUESTION_CHARS
        (the thread's earlier questions too), its language detected; the answer says what was done."""
        t0 = time.perf_counter()
        limit = self.settings.max_question_chars
        text, clipped = clip_question(question, limit)
        history = [clip_question(h, limit)[0] for h in history]
        found = self.findings(text, history=history, k=k, asked_on=asked_on)
        t = time.perf_counter()
        index, language = found.index, found.question.language
        news = newest_leads(index, self.glossary, found.question.names,
                            last_day=float(asked_on.toordinal() + 1) if asked_on else None) \
            if asks_for_news(found.question, self.glossary) and not found.missing else []
        if news:  # "what's new?": the newest articles, as of the newest (no model: nothing to word)
            ans = Answer(question=text, refused=False, language=language, citations=cite_excerpts(index, news),
                         outcome=ANSWERED, as_of=index.docs[news[0].doc]["published"], corpus_articles=len(index.docs))
        elif not found.candidates:
            ans = refusal(text, language, len(index.docs))
        else:
            excerpts = choose(found.question, found.candidates, found.feats, found.scores, self.answer_model,
                              self.glossary)
            gate = gate_features(found.question, found.candidates, found.feats, found.scores, found.order[0],
                                 excerpts=excerpts, relevance=found.relevance, article_texts=found.article_texts,
                                 glossary=self.glossary, subject_weight=self.answer_model.weight("subject"))
            related = self.related(found.relevance, found.question, gate, missing=found.missing)
            outcome = decide(self.answer_model, gate, missing=found.missing, related=related)
            leads = 1
            if outcome != ANSWERED and len(found.question.names) > 1 and not found.missing:
                each = self._each_name(found)
                if each is not None:
                    # each company's excerpts state its own figures: none is "a different figure"
                    outcome, excerpts = ANSWERED, [replace(e, figures=()) for e in each]
                    leads = sum(e.role == LEAD for e in each)
            gate["p_answer"] = self.answer_model.probability(gate)
            if outcome == REFUSED:
                ans = refusal(text, language, len(index.docs), features=gate)
            else:
                citations = cite_excerpts(index, excerpts, related=outcome == CLOSEST)
                as_of = index.docs[excerpts[0].doc]["published"] if found.question.state and outcome == ANSWERED else ""
                differs = [i + 1 for i in differing(excerpts)] if outcome == ANSWERED else []
                ans = Answer(question=text, refused=False, language=language, citations=citations,
                             outcome=outcome, as_of=as_of, differs=differs, leads=leads, scores=gate,
                             corpus_articles=len(index.docs))
                found.timings["answer_ms"] = (time.perf_counter() - t) * 1000
                if self.llm is not None and not found.missing:
                    self._word_with_llm(ans, found, excerpts, on_partial)
        found.timings.setdefault("answer_ms", (time.perf_counter() - t) * 1000)
        found.timings["total_ms"] = (time.perf_counter() - t0) * 1000
        ans.timings_ms = found.timings
        ans.search_question = found.standalone
        ans.clipped_to = limit if clipped else 0
        return ans

    def findings(self, question: str, *, history: Sequence[str] = (), k: int | None = None,
                 asked_on: date | None = None) -> Findings:
        """Everything the answer is chosen from: the analysed question, the retrieved chunks, their
        candidate sentences with evidence features and scores. Used by ``ask`` and by the
        benchmark that fits the answer model."""
        text, _ = clip_question(question, self.settings.max_question_chars)
        if not content_terms(text) and not any(ch.isalnum() for ch in text):
            raise EmptyQuestionError("the question is empty")
        self._freshness.reload_if_stale(self)
        index = self.index()
        timings: dict[str, float] = {}
        t = time.perf_counter()
        q = analyse_turn(text, list(history)[-MAX_HISTORY:], self.glossary)
        standalone = self.glossary.correct(self._standalone(text, history))
        if history:
            timings["rewrite_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        # one embedding per question, of the text with the other language's names added; the
        # finance terms go to the BM25 side only, where extra words cost nothing
        qvec = embed_query(self.embeddings, self.glossary.expand(standalone))
        sparse_text = self.glossary.expand(standalone, kinds=KINDS, every=True)
        timings["embed_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        translation = self._translation(standalone, q, index)
        if translation:
            sparse_text = f"{sparse_text} {translation}"
            timings["translate_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        pool = answer_pool(index, qvec, sparse_text, k=k or self.settings.top_k, sparse_extra=SPARSE_EXTRA,
                           params=self.fusion, asked_on=reference_day(index, asked_on),
                           also=debut_search(q, self.glossary))  # "when will MiniMax list?": its debut, if reported
        timings["search_ms"] = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        vectors = self._sentence_vectors(index, [sid for h in pool for sid in index.sentence_ids(h.chunk)])
        last_day = float(asked_on.toordinal() + 1) if asked_on is not None else None
        cands = gather(index, pool, qvec, sentence_vectors=vectors, last_day=last_day)
        feats, scores = rank(q, cands, self.glossary, self.answer_model)
        docs = list(dict.fromkeys(c.doc for c in cands))
        article_texts = [index.docs[d]["title"] + "\n" + index.docs[d]["text"] for d in docs]
        relevance = self.refusal_model.probability({
            "sentence": max((c.sim for c in cands), default=0.0), "chunk": pool[0].dense if pool else 0.0,
            "coverage": 0.0,
        })
        timings["rank_ms"] = (time.perf_counter() - t) * 1000
        return Findings(
            index=index, question=q, standalone=standalone, pool=pool, candidates=cands, feats=feats, scores=scores,
            order=[int(i) for i in np.argsort(-scores, kind="stable")], relevance=relevance,
            article_texts=article_texts, missing=missing_names(q, article_texts, self.glossary), timings=timings,
        )

    def related(self, relevance: float, question: Question, gate: dict[str, float], *, missing: bool) -> bool:
        """Is there anything relevant to show as "the closest the corpus comes"?"""
        if relevance >= self.refusal_model.threshold:
            return True
        if not question.names:  # no company named: the question's terms, its rarest among them, found
            # "who listed first?" in a corpus that never says "first": the listing is found, and the
            # time word is how the question is put, not what it is about (it still weighs in "concepts")
            term = any(self.glossary.groups[g].kind == TERM for g in question.groups)
            return gate["focus"] >= 1.0 and gate["unmatched"] == 0.0 and (gate["concepts"] >= RELATED_CONCEPTS or term)
        # a company named and found: the lead is about it, or the corpus has what is asked about it
        # ("When will Zhipu list?" where the article says Zhipu prepares its IPO but not when)
        return (gate["subject"] >= 1.0 or gate["focus"] >= 1.0) and not missing

    def _each_name(self, found: Findings) -> list[Excerpt] | None:
        """A question about several companies ("Zhipu vs MiniMax IPO price", "did zhipu or minimax
        pass the hearing first?") answered one company at a time: no one sentence holds both facts,
        so it is answered when each company's own question ("Zhipu IPO price") would be, by the same
        gate. The excerpts: each company's lead (roles "answer"), then supports from other articles."""
        q = found.question
        leads: list[Excerpt] = []
        rest: list[Excerpt] = []
        mentions = self.glossary.find(q.text)  # each company in the order the question names it
        for name in sorted(q.names, key=lambda g: (min((a for a, _ in mentions.get(g, [])), default=len(q.text)), g)):
            one = replace(q, names=frozenset({name}), groups=q.groups - (q.names - {name}))
            feats, scores = rank(one, found.candidates, self.glossary, self.answer_model)
            excerpts = choose(one, found.candidates, feats, scores, self.answer_model, self.glossary)
            order = int(np.argmax(scores))
            gate = gate_features(one, found.candidates, feats, scores, order, excerpts=excerpts,
                                 relevance=found.relevance, article_texts=found.article_texts, glossary=self.glossary,
                                 subject_weight=self.answer_model.weight("subject"))
            if decide(self.answer_model, gate, missing=False, related=True) != ANSWERED:
                return None
            if any(e.doc == excerpts[0].doc and e.start == excerpts[0].start for e in leads):
                return None  # one sentence leads for both: the per-company reading adds nothing
            leads.append(excerpts[0])
            rest += excerpts[1:]
        out = list(leads)
        for e in sorted(rest, key=lambda e: -e.score):
            if len(out) > MAX_SUPPORT:
                break
            if all(e.doc != o.doc for o in out):
                out.append(replace(e, role=SUPPORT))
        return out

    def _standalone(self, question: str, history: Sequence[str]) -> str:
        if history and self.llm is not None:
            return self.llm.rewrite(question, list(history)[-MAX_HISTORY:])
        return standalone_question(question, history)

    def _word_with_llm(self, ans: Answer, found: Findings, excerpts: Sequence[Excerpt],
                       on_partial: Callable[[str], None] | None) -> None:
        """Let the model word the answer from whole chunks. It also decides what the extractive gate
        left as "closest": an answer it can cite makes the reply answered, NOT_IN_CORPUS keeps it
        closest. Its citations become the best sentence of each chunk it cited."""
        assert self.llm is not None
        passages = model_passages(found.index, found.pool, excerpts)
        result = self.llm.answer(found.standalone, ans.language, [p.citation for p in passages], on_partial=on_partial)
        found.timings["llm_ms"] = result.model_ms
        ans.usage = {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens}
        if result.fallback is not None:
            ans.fallback = result.fallback
            return
        chosen = cited_sentences(result.citations, passages, found.candidates, found.scores)
        ans.citations = cite_excerpts(found.index, chosen)
        ans.model_text, ans.mode, ans.outcome, ans.differs = result.text, "llm", ANSWERED, []
        if found.question.state:
            ans.as_of = max(c.published for c in ans.citations)

    def _translation(self, question: str, asked: Question, index: LoadedIndex) -> str:
        """The question in the corpus's other language, for the word match: when a model is
        configured, the corpus has articles in that language, and a question on the corpus's topic
        (it names a company or an industry term) has words of its own that the glossary cannot carry
        across ("long-text models", "研发"). Off-topic questions cost no model call."""
        topical = any(self.glossary.groups[g].kind in (NAME, TERM) for g in asked.groups)
        if self.llm is None or not self.settings.llm.translate or not topical or not own_words(asked, self.glossary):
            return ""
        other = "en" if asked.language == "zh" else "zh"
        if other not in LANGUAGES or not np.any(index.chunk_langs == LANGUAGES.index(other)):
            return ""
        return self.llm.translate(question, other)

    def _sentence_vectors(self, index: LoadedIndex, sids: list[int]) -> dict[int, np.ndarray]:
        if index.sentence_vectors is not None:
            return {sid: index.sentence_vectors[sid] for sid in sids}
        # An index built without sentence vectors (large benchmark corpora): embed on demand, cached.
        if self._cache is None:
            self._cache = EmbeddingCache(self.settings.cache_path)
        texts = [index.sentence_text(s) for s in sids]
        vecs, _ = embed_passages(texts, embeddings=self.embeddings, model=self.model_id, cache=self._cache)
        return dict(zip(sids, vecs, strict=True))


@dataclass
class Findings:
    index: LoadedIndex
    question: Question
    standalone: str
    pool: list[Hit]
    candidates: list[Candidate]
    feats: np.ndarray
    scores: np.ndarray
    order: list[int]  # candidates, best first
    relevance: float  # the on-topic model's probability (retrieval/calibration.json "refusal")
    article_texts: list[str]  # title and text of every article a candidate comes from
    missing: bool  # the question names something none of those articles mentions
    timings: dict[str, float] = field(default_factory=dict)


def reference_day(index: LoadedIndex, asked_on: date | None) -> date:
    """The day recency is measured from: the day asked (default today), but no later than the day
    after the newest article, so that a corpus that stopped growing still prefers its newest news."""
    day = asked_on or datetime.now(UTC).date()
    days = index.doc_days[~np.isnan(index.doc_days)] if len(index.doc_days) else index.doc_days
    if len(days) and day.toordinal() > int(days.max()) + 1:
        return date.fromordinal(int(days.max()) + 1)
    return day


def standalone_question(question: str, history: Sequence[str]) -> str:
    """Without a language model, a follow-up is made standalone by joining the thread's earlier
    questions in front of it (the retrieval sees the topic; the answer still targets the follow-up)."""
    earlier = [h.strip() for h in history if h.strip()][-MAX_HISTORY:]
    return " ".join([*earlier, question]) if earlier else question
