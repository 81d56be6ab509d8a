"""langchain where it replaces our own code: models built by ``init_chat_model`` /
``init_embeddings``, the provider's own token counts, and the index as a ``BaseRetriever``."""

from __future__ import annotations

from dataclasses import replace

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableLambda

from retrieval.chunking import count_tokens
from retrieval.corpus import load_article
from retrieval.embeddings import make_embeddings
from retrieval.errors import EmbeddingError
from retrieval.llm import make_chat_model
from retrieval.service import QAService
from retrieval.settings import LLMSettings, RetrievalSettings
from tests.llm_fake import FakeOpenAI, Reply

Q = "When could MiniMax list its shares?"
GOOD = "MiniMax may list as early as January [1]."


def _service(settings: RetrievalSettings, fake: FakeOpenAI) -> QAService:
    llm = LLMSettings(provider="openai", model="fake-model", base_url=fake.url, api_key="k", timeout_s=5.0)
    return QAService(replace(settings, llm=llm))


@pytest.mark.parametrize("streamed", [False, True])
def test_token_counts_are_the_providers_own(multilingual_index: RetrievalSettings, fake_openai: FakeOpenAI,
                                            streamed: bool) -> None:
    fake_openai.replies.append(Reply(GOOD, usage=(4321, 77)))
    partials: list[str] = []
    ans = _service(multilingual_index, fake_openai).ask(Q, on_partial=partials.append if streamed else None)
    assert ans.mode == "llm"
    assert ans.usage == {"prompt_tokens": 4321, "completion_tokens": 77}
    if streamed:
        assert fake_openai.requests[-1]["stream_options"] == {"include_usage": True}


def test_token_counts_are_estimated_when_the_provider_reports_none(multilingual_index: RetrievalSettings,
                                                                   fake_openai: FakeOpenAI) -> None:
    fake_openai.replies.append(Reply(GOOD, usage=()))
    ans = _service(multilingual_index, fake_openai).ask(Q)
    assert ans.usage["prompt_tokens"] > 50 and ans.usage["completion_tokens"] == count_tokens(GOOD)


def test_any_chat_provider_langchain_knows_is_accepted_and_a_missing_package_named() -> None:
    settings = RetrievalSettings.from_env({"LLM_PROVIDER": "anthropic", "LLM_MODEL": "claude-sonnet-4-5"})
    assert settings.llm.provider == "anthropic"
    with pytest.raises(ValueError, match="pip install langchain-anthropic"):
        make_chat_model(settings.llm)
    with pytest.raises(ValueError, match="unknown LLM_PROVIDER 'acme'.*openai"):
        make_chat_model(LLMSettings(provider="acme", model="m"))


def test_chat_models_keep_their_limits(fake_openai: FakeOpenAI) -> None:
    openai = make_chat_model(LLMSettings(provider="openai", model="m", base_url=fake_openai.url, timeout_s=7,
                                         max_tokens=123))
    assert type(openai).__name__ == "ChatOpenAI"
    assert (openai.request_timeout, openai.max_retries, openai.max_tokens, openai.stream_usage) == (7, 0, 123, True)
    ollama = make_chat_model(LLMSettings(provider="ollama", model="qwen2.5", base_url="http://127.0.0.1:9",
                                         timeout_s=7, max_tokens=123))
    assert type(ollama).__name__ == "ChatOllama"
    assert (ollama.num_predict, ollama.client_kwargs, ollama.base_url) == (123, {"timeout": 7}, "http://127.0.0.1:9")


def test_any_embeddings_provider_langchain_knows_is_accepted_and_a_missing_package_named() -> None:
    with pytest.raises(EmbeddingError, match="pip install langchain-cohere"):
        make_embeddings("cohere/embed-v4.0")
    with pytest.raises(ValueError, match="unknown embeddings provider 'word2vec'"):
        make_embeddings("word2vec/x")
    ollama = make_embeddings("ollama/nomic-embed-text", base_url="http://127.0.0.1:9")
    assert (type(ollama).__name__, ollama.model, ollama.base_url) == ("OllamaEmbeddings", "nomic-embed-text",
                                                                      "http://127.0.0.1:9")
    openai = make_embeddings("openai/text-embedding-3-small", base_url="http://127.0.0.1:9/v1", api_key="k",
                             batch_size=32, concurrency=2)  # the project's own batched, concurrent client
    assert (type(openai).__name__, openai.url, openai.slab_size) == ("ServerEmbeddings", "http://127.0.0.1:9/v1/embeddings", 64)


def test_the_index_is_a_langchain_retriever(multilingual_index: RetrievalSettings) -> None:
    from retrieval.langchain_retriever import CorpusRetriever

    retriever = CorpusRetriever.from_settings(multilingual_index, k=3)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("When could MiniMax list in Hong Kong?")
    assert 1 <= len(docs) <= 3
    assert "MiniMax" in docs[0].page_content
    for doc in docs:
        meta = doc.metadata
        text = load_article(multilingual_index.corpus_dir / meta["path"]).text
        assert text[meta["start"]:meta["end"]] == doc.page_content  # the verbatim span
        assert meta["title"] and meta["outlet"] and meta["published"] and "url" in meta
        assert isinstance(meta["score"], float)
    # a Chinese question finds the same story
    assert any("MiniMax" in d.page_content for d in retriever.invoke("MiniMax什么时候在香港上市？"))
    # it composes with other runnables like any retriever
    titles = (retriever | RunnableLambda(lambda ds: [d.metadata["title"] for d in ds])).invoke(
        "When could MiniMax list in Hong Kong?")
    assert titles == [d.metadata["title"] for d in docs]
    assert retriever.invoke("???") == []
