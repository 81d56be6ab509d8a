"""Evaluation and benchmark suite for industry-qa. Run: python -m benchmarks.run"""
