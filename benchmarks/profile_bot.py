"""`python -m bot run` under cProfile (the event loop's thread), the statistics written to argv[1]
when the process ends (SIGTERM). Used by the webhook benchmark with BENCH_PROFILE=FILE; read them
with `python -m pstats FILE`. For worker threads (PostgreSQL) use a sampling profiler such as py-spy."""

from __future__ import annotations

import cProfile
import runpy
import sys

out = sys.argv[1]
sys.argv = ["bot", "run"]
profiler = cProfile.Profile()


profiler.enable()
try:
    runpy.run_module("bot", run_name="__main__")
except (SystemExit, KeyboardInterrupt):
    pass
finally:
    profiler.disable()
    profiler.dump_stats(out)
