"""Offline tools: dataset readers, training, evaluation, model cards and benchmarks.

Never imported by the runtime packages (an import-linter contract enforces it)."""
