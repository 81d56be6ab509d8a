"""Retrieval core: corpus loading, chunking, hybrid FAISS + BM25 index, cited extractive answers.

Nothing in this package imports Slack; the bot (``bot/``) builds on it.
"""
