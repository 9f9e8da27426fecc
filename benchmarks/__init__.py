"""Speed and memory benchmarks. Run all: ``python -m benchmarks``; one: ``python -m
benchmarks.bench_ingest``. Figures are ratios against baselines measured in the same run."""
