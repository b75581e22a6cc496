"""The kernel every layer may import: core types, errors, settings, usage metering, process environment."""
