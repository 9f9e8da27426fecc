"""The resource meter measures the block it wraps, not the process's history."""

import time

from trading_assets.costs.meter import ResourceMeter


def test_meter_sees_cpu_work_and_a_memory_peak_released_before_it_ends():
    with ResourceMeter(interval_s=0.002) as idle:
        time.sleep(0.05)
    with ResourceMeter(interval_s=0.002) as busy:
        block = bytearray(300 * 2**20)  # 300 MiB touched, then released inside the block
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(0.05)  # let the sampler see it
        del block
        total = sum(range(3_000_000))
    assert total > 0
    assert idle.usage.wall_s >= 0.05 and idle.usage.cpu_s < idle.usage.wall_s
    assert busy.usage.cpu_s > 0.05
    assert busy.usage.peak_rss_mb > idle.usage.peak_rss_mb + 250
    # a later, light block does not inherit the earlier peak (unlike ru_maxrss)
    with ResourceMeter(interval_s=0.002) as light:
        time.sleep(0.02)
    assert light.usage.peak_rss_mb < busy.usage.peak_rss_mb - 250
