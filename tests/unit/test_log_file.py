"""The log file's batched writer: every line in order, flushed on demand, rolled over,
nothing lost at close, and the caller never writes to the file itself."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from intu_desktop.log_file import BatchedRotatingFileHandler


def _logger(handler: logging.Handler, name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    return logger


def test_lines_from_many_threads_are_all_written_in_each_threads_order(tmp_path: Path) -> None:
    handler = BatchedRotatingFileHandler(tmp_path / "app.log", maxBytes=0, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = _logger(handler, "test.batched.order")

    def write(tag: int) -> None:
        for n in range(500):
            logger.info("t%d %d", tag, n)

    threads = [threading.Thread(target=write, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    handler.flush()
    lines = (tmp_path / "app.log").read_text().splitlines()
    assert len(lines) == 2000
    for tag in range(4):
        assert [int(line.split()[1]) for line in lines if line.startswith(f"t{tag} ")] == list(range(500))
    handler.close()
    logger.removeHandler(handler)


def test_the_callers_thread_never_writes_the_file(tmp_path: Path, monkeypatch) -> None:
    handler = BatchedRotatingFileHandler(tmp_path / "app.log", maxBytes=0, encoding="utf-8")
    writers: set[str] = set()
    write = handler._write
    monkeypatch.setattr(handler, "_write", lambda text: (writers.add(threading.current_thread().name), write(text)))
    logger = _logger(handler, "test.batched.thread")
    for n in range(50):
        logger.info("line %d", n)
    handler.flush()
    assert writers == {"log-writer"}
    handler.close()
    logger.removeHandler(handler)


def test_the_file_rolls_over_and_close_writes_what_is_left(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    handler = BatchedRotatingFileHandler(path, maxBytes=4096, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = _logger(handler, "test.batched.roll")
    n = 0
    for _group in range(20):  # ~1 KB a batch: a rollover every few batches
        for _ in range(20):
            logger.info("line %04d %s", n, "x" * 40)
            n += 1
        handler.flush()
    for _ in range(5):
        logger.info("line %04d tail", n)
        n += 1
    handler.close()  # no flush first: close must not lose the tail
    logger.removeHandler(handler)
    rolled = [tmp_path / f"app.log.{i}" for i in (3, 2, 1)]
    assert all(f.exists() and 0 < f.stat().st_size < 4096 + 2048 for f in rolled)
    numbers = [int(line.split()[1]) for f in (*rolled, path) for line in f.read_text().splitlines()]
    assert numbers[-1] == n - 1 and numbers == list(range(numbers[0], n))  # the newest lines, none missing


def test_logging_shutdown_flushes_and_closes_without_deadlock(tmp_path: Path) -> None:
    handler = BatchedRotatingFileHandler(tmp_path / "app.log", maxBytes=0, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = _logger(handler, "test.batched.shutdown")
    logger.info("the last words")
    logging.shutdown([lambda: handler])  # holds the handler's lock while it flushes and closes
    assert (tmp_path / "app.log").read_text() == "the last words\n"
    logger.removeHandler(handler)
