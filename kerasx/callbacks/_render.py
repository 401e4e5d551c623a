"""Headless PNG rendering shared by the kerasx callbacks.

Figures are built with :class:`matplotlib.figure.Figure` on an explicit Agg canvas, never through
``pyplot``, so no global plotting state is touched and no display is needed.

Rendering a small figure costs ~60 ms here, about 4% of an epoch of the course's malaria MLP, so
callbacks hand their drawings to one background thread: the training loop only copies the
numbers to draw. Only the newest request per file is kept (a slow disk never queues up stale
frames), and every callback calls :func:`flush` in ``on_train_end`` so the files are current
when ``fit`` returns. One thread serves all callbacks, so matplotlib never draws two figures at
once. The thread's CPU seconds per file are kept (:func:`spent`), so a callback can keep its
drawing to a share of the training time (``LearningCurves(render_budget=...)``): on a 2-core
machine the thread competes with training for the CPU.
"""

import threading
import time
import warnings

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kerasx import _io

__all__ = ["busy", "flush", "save_png", "spent", "submit"]

_lock = threading.Lock()
_jobs = {}  # path -> (draw, args, figsize, dpi); newest request wins
_worker = None
_spent = {}  # path -> CPU seconds the thread spent drawing and writing it
_drawing = set()  # paths the thread is drawing now
_idle = threading.Event()
_idle.set()


def save_png(path, draw, args, figsize, dpi):
    """Draws ``draw(figure, *args)`` on a fresh Agg figure and writes it to ``path`` as PNG.

    The file is written whole (``kerasx._io.atomic_path``): a reader, or a crash, meets the
    previous PNG or the new one, never part of one.
    """
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    draw(figure, *args)
    with _io.atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=dpi)


def submit(path, draw, args, figsize, dpi):
    """Schedules ``save_png(path, ...)`` on the background thread (replacing a pending one)."""
    global _worker
    with _lock:
        _jobs[path] = (draw, args, figsize, dpi)
        _idle.clear()
        if _worker is None:
            _worker = threading.Thread(target=_run, name="kerasx-png", daemon=True)
            _worker.start()


def _run():
    global _worker
    while True:
        with _lock:
            if not _jobs:
                _worker = None
                _idle.set()
                return
            path = next(iter(_jobs))
            job = _jobs.pop(path)
            _drawing.add(path)
        start = time.thread_time()
        try:
            save_png(path, *job)
        except Exception as error:  # a plotting failure must not kill training
            warnings.warn(f"kerasx could not write {path}: {error!r}", stacklevel=1)
        finally:
            with _lock:
                _spent[path] = _spent.get(path, 0.0) + time.thread_time() - start
                _drawing.discard(path)


def busy(path):
    """Whether a drawing of ``path`` is scheduled or under way (its cost not yet in :func:`spent`)."""
    with _lock:
        return path in _jobs or path in _drawing


def spent(path):
    """CPU seconds the background thread has spent on ``path`` so far (in this process)."""
    with _lock:
        return _spent.get(path, 0.0)


def flush(timeout=None):
    """Waits until every scheduled PNG is written."""
    _idle.wait(timeout)
