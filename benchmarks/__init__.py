"""Speed and memory benchmarks (CPU and GPU); each prints throughput and ratios against a naive baseline."""
