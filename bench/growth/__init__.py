"""P7 growth curves, P4 and P6 at a fleet's scale: the same reads on fleets of 100 k, 1 M
and 10 M events (`make bench-growth SIZES=100k,1m,10m`).

Each size is a fleet from the generator (`bench.fleet`, reproducible from its seed) in a
database of its own, kept between runs (`ca_growth_<size>_s<seed>`) because a 10 M fleet
takes long to write; `--reseed` writes it again. At each size: the read models are rebuilt
from the log (P4's rate at that size) when the fleet is new, its read models are behind,
or `--rebuild` asks (a fleet's projection is slow: docs/performance.md), the whole system
is started on the database, and one keep-alive client asks each read of PERFORMANCE.md's
P7 (check, list pages, access-at-T, timeline, local list) for ids sampled from the read
models, while the services' memory is sampled (P6). A read's figure is its p99; its growth
is the figure at a size over the figure at the smallest size of the same run, the baseline
the goal is judged against (<= 1.5x at the largest size). The curves are drawn with
matplotlib into `docs/growth.png` (`--plot`), beside the table in `var/bench/growth.md`.
"""
