"""Evaluation: pure functions on arrays, plus the harness that feeds them a method's outputs."""
