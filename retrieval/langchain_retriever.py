"""The corpus as a langchain-core ``BaseRetriever``, so a LangChain user can put this index into
their own chains (``retriever | prompt | model``).

It runs the bot's search (glossary expansion, one query embedding, hybrid FAISS + BM25 with the
fitted fusion) and returns one ``Document`` per hit: ``page_content`` is the chunk's verbatim span
of the article (``text[start:end]``), and the metadata name its title, outlet, date, URL, path,
offsets and fused score. Answer selection (sentences, refusal, the language model) is not part of
it: that is ``QAService.ask``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .embeddings import embed_query
from .search import Hit, search
from .service import QAService
from .settings import RetrievalSettings
from .text import clip_question, content_terms


class CorpusRetriever(BaseRetriever):
    """Documents for a question from the live index of ``service`` (a newer generation built by
    ``industry-qa index`` or an add is picked up before the next search)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    service: QAService
    k: int = 5

    @classmethod
    def from_settings(cls, settings: RetrievalSettings, *, k: int | None = None, **kwargs: Any) -> CorpusRetriever:
        """A retriever over the index in ``settings.data_dir`` (``kwargs`` go to ``QAService``)."""
        return cls(service=QAService(settings, **kwargs), k=k or settings.top_k)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        svc = self.service
        text, _ = clip_question(query, svc.settings.max_question_chars)
        if not content_terms(text) and not any(ch.isalnum() for ch in text):
            return []  # nothing to search for
        svc.reload()
        index = svc.index()
        search_text = svc.glossary.expand(text)
        qvec = embed_query(svc.embeddings, search_text)
        hits = search(index, qvec, search_text, k=self.k, params=svc.fusion, asked_on=datetime.now(UTC).date())
        return [_document(index.docs[h.doc], h) for h in hits]


def _document(doc: Any, hit: Hit) -> Document:
    return Document(
        page_content=doc["text"][hit.start:hit.end],
        metadata={
            "title": doc["title"], "outlet": doc["outlet"], "published": doc["published"], "url": doc["url"],
            "language": doc["language"], "path": doc["path"], "start": hit.start, "end": hit.end,
            "score": hit.score,
        },
    )
