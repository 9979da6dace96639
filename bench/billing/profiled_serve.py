"""`tollgate serve ...` with cProfile switched on and off by signals, so start-up is left out.

    python -m bench.billing.profiled_serve STATS_FILE serve billing --port P --instance billing-1

SIGUSR1 starts profiling the main thread (the event loop's, where nearly all
the work of an async service runs); SIGUSR2 stops and writes the stats to
STATS_FILE. The service's own code is not touched. Times are the thread's CPU
time, not wall time: on a shared machine, wall time would charge whatever
function was running with the time the process spent waiting for a core.
"""

from __future__ import annotations

import cProfile
import signal
import sys
import time
from pathlib import Path


def main() -> int:
    stats_file, arguments = Path(sys.argv[1]), sys.argv[2:]
    profiler = cProfile.Profile(time.thread_time)

    def start(_signal: int, _frame: object) -> None:
        profiler.enable()

    def stop(_signal: int, _frame: object) -> None:
        profiler.disable()
        profiler.dump_stats(str(stats_file))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    from tollgate.cli import main as tollgate

    return tollgate(arguments)


if __name__ == "__main__":
    sys.exit(main())
