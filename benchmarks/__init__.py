"""Benchmarks of the hand-written convnet against Keras, run with ``python -m
benchmarks`` (``--quick`` for a check of about a minute). See docs/benchmarks.md.
"""
