"""Several replays of one recording at once, one worker process each: `arbbot replay`'s two
configurations and `arbbot tune`'s trials use the machine's cores. A replay depends only on its
input (virtual time, seeded ids: `arbbot.replay.run`), so replays side by side give the results
that one after another give, returned in the jobs' order.

The workers are forked when the pool opens, before any progress display starts a thread (a fork
copies only the forking thread, and a lock another thread held would stay locked in the child),
and inherit the recording's header from the fork instead of receiving it pickled (tens of MB at
20k markets). Each sends its progress (bytes read, books) to the parent, which shows it."""
from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import tempfile
from pathlib import Path

from arbbot.replay.format import RecordingError


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _replay_one(recording, settings, engine, cache_dir, on_progress, scratch=None) -> tuple[dict, dict]:
    """One replay in a temporary folder (inside `scratch`, the pool's: a worker stopped by the
    pool leaves its folder to the pool, which removes them all)."""
    from arbbot.replay.run import replay
    read: dict = {}
    with tempfile.TemporaryDirectory(prefix="arbbot-replay-", dir=scratch) as tmp:
        result = replay(recording, settings, Path(tmp), engine=engine, cache_dir=cache_dir, read=read,
                        on_progress=on_progress)
    return result, read


def _serve(jobs, out, recording, engine, cache_dir, scratch) -> None:
    """A worker: replay each (index, settings) from `jobs` until None; put ("progress", index,
    bytes, books), then ("done", index, (result, read)) or ("error", index, (kind, message)).
    The pool's SIGTERM ends it at once, as the signal's default does (not the CLI's handler, which
    the fork copied: raised inside multiprocessing's exit it printed a traceback, or left the
    worker joining a queue nobody reads); its replay folder is in the pool's `scratch`. A Ctrl-C
    reaching the whole process group ends it quietly: the parent reports the interruption."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        while (job := jobs.get()) is not None:
            index, settings = job
            _serve_job(index, settings, out, recording, engine, cache_dir, scratch)
    except KeyboardInterrupt:
        pass


def _serve_job(index, settings, out, recording, engine, cache_dir, scratch) -> None:
    try:
        done = _replay_one(recording, settings, engine, cache_dir,
                           lambda read, books: out.put(("progress", index, (read, books))), scratch)
    except Exception as exc:       # reported to the parent, which raises it there
        out.put(("error", index, ("recording" if isinstance(exc, RecordingError) else type(exc).__name__,
                                  str(exc))))
    else:
        out.put(("done", index, done))


def _match_into_cache(recording, cache_dir: Path) -> None:
    """The twins a replay matches from the recording's listings (`arbbot.replay.run._twins`), cached."""
    from arbbot.mapping.generate import bodies_listings, generated_mappings
    generated_mappings(bodies_listings({name: recording.listing_bodies.get(name, []) for name in recording.markets}),
                       cache_dir)


class ReplayPool:
    """`with ReplayPool(recording, workers, engine=…, cache_dir=…) as pool: pool.run(jobs,
    progress)`. With one worker the replays run in this process."""

    def __init__(self, recording, workers: int, *, engine: str | None, cache_dir: Path | None,
                 match: bool = False) -> None:
        """`match`: some replay matches the recording's twins itself (it generates twins and the
        recording has none recorded): they are matched here once, into `cache_dir`, before the
        workers start, instead of in every worker at once."""
        self.recording, self.engine, self.cache_dir = recording, engine, cache_dir
        self.workers = max(1, workers)
        self.match = match and not recording.recorded_mappings and cache_dir is not None
        self._procs: list = []

    def __enter__(self) -> "ReplayPool":
        if self.workers > 1:
            if self.match:
                _match_into_cache(self.recording, self.cache_dir)
            ctx = multiprocessing.get_context("fork")
            self._jobs, self._out = ctx.Queue(), ctx.Queue()
            self._scratch = tempfile.TemporaryDirectory(prefix="arbbot-replay-pool-")   # the workers' folders
            self._procs = [ctx.Process(target=_serve, name=f"arbbot-replay-{k}", daemon=True,
                                       args=(self._jobs, self._out, self.recording, self.engine, self.cache_dir,
                                             self._scratch.name))
                           for k in range(self.workers)]
            for proc in self._procs:
                proc.start()
        return self

    def __exit__(self, *exc) -> None:
        for proc in self._procs:
            proc.join(timeout=0 if exc[0] is not None else 2.0)   # done: each ends after its last job
            if proc.is_alive():
                proc.terminate()
            proc.join()
        if self._procs:          # jobs left unread (stopped early): not flushed into a pipe nobody reads,
            for q in (self._jobs, self._out):   # which would hang this process's exit
                q.cancel_join_thread()
                q.close()
            self._scratch.cleanup()             # what a stopped worker's replay left

    def run(self, jobs: list[tuple[str, object]], progress) -> list[tuple[dict, dict]]:
        """(result, read counts) per (label, settings) job, in order; `progress(label)` gives a
        job's progress callback. A job's error is raised here (a bad record as RecordingError)."""
        if not self._procs:
            return [_replay_one(self.recording, settings, self.engine, self.cache_dir, progress(label))
                    for label, settings in jobs]
        for index, (_, settings) in enumerate(jobs):
            self._jobs.put((index, settings))
        for _ in self._procs:
            self._jobs.put(None)              # each worker ends after the jobs
        results: dict[int, tuple] = {}
        shown: dict[int, object] = {}
        while len(results) < len(jobs):
            try:
                kind, index, value = self._out.get(timeout=0.2)
            except queue.Empty:
                if all(proc.exitcode is not None for proc in self._procs) and self._out.empty():
                    raise RuntimeError("a replay worker ended without its result "
                                       f"(exit codes {[p.exitcode for p in self._procs]})") from None
                continue
            if kind == "progress":
                if index not in shown:
                    shown[index] = progress(jobs[index][0])
                shown[index](*value)
            elif kind == "error":
                what, message = value
                raise RecordingError(message) if what == "recording" else RuntimeError(f"replay: {what}: {message}")
            else:
                results[index] = value
        return [results[i] for i in range(len(jobs))]
