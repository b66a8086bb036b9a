"""ganbench metrics: functional per-sample metrics plus summable accumulators, and the METRICS registry."""
