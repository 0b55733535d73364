"""Many updates at the same instant: each in its own thread, released together by a barrier.

On PostgreSQL the dispatcher's transactions then really overlap (one connection each); on SQLite
they take turns on the writer lock, in whatever order the threads arrive."""

from __future__ import annotations

import threading

from bot.types import Incoming, Reply


def at_once(app, messages: list[Incoming]) -> list[list[Reply]]:
    """Processes the messages concurrently; each one's replies, in the order given."""
    barrier = threading.Barrier(len(messages))
    results: list[list[Reply] | BaseException | None] = [None] * len(messages)

    def work(index: int, msg: Incoming) -> None:
        barrier.wait()
        try:
            results[index] = app.dispatcher.process(msg)[0]
        except BaseException as exc:  # surfaced below, in the test's thread
            results[index] = exc

    threads = [threading.Thread(target=work, args=(i, m)) for i, m in enumerate(messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


def text_of(replies: list[Reply]) -> str:
    return "\n".join(r.text for r in replies)
