"""Tell a real Ctrl-C apart from skorch's early-stopping ``KeyboardInterrupt``."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class CtrlC:
    """Whether SIGINT arrived while :func:`watch_ctrl_c` was active."""

    pressed = False


@contextlib.contextmanager
def watch_ctrl_c() -> Iterator[CtrlC]:
    """Record a Ctrl-C (SIGINT) during training, then handle it as before.

    skorch's ``partial_fit`` swallows every ``KeyboardInterrupt`` because
    callbacks raise one to stop early; this is how a real interrupt is told
    apart from early stopping. The previous handler still runs (Python's
    default raises ``KeyboardInterrupt``), so nothing else changes. Signal
    handlers can only be set from the main thread; in other threads (joblib
    threading backend, Dask workers) this does nothing: a Ctrl-C arrives in
    the main thread there anyway.
    """
    state = CtrlC()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN or previous is None:
        # ignored, or installed from outside Python: leave it alone
        yield state
        return

    def handler(signum, frame):
        state.pressed = True
        if callable(previous):
            previous(signum, frame)
        else:  # SIG_DFL
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
