"""Evaluation and benchmark suite for industry-qa (issue #4). Run: python -m benchmarks.run"""
