"""Evaluation: dataset loaders, scoring, runner, reports, and synthetic videos with known content."""
