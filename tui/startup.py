"""What `digits` holds back until the Paint screen's first frame: NumPy's BLAS threads and
Python's garbage collector. `hold()` before NumPy is imported, `release()` after that frame.

The garbage collector: starting the app allocates a great many objects (Textual's
and NumPy's modules, the styles, the widgets) and frees few of them, yet every 700 allocations
set off a collection, and the older generations' collections walk ever more objects: traced in
starts on a 2-core EPYC (load average 4), 154 young, 14 middle and one full collection took
150-210 ms before the first frame. Collecting is switched off from `hold()` to `release()`;
the app then collects once and freezes what start-up made (`DigitsApp._freeze_startup_objects`).

NumPy's OpenBLAS starts with one thread while the app starts, and gets its usual count after.
Loading OpenBLAS with more than one thread starts its worker threads at once, and each worker
then spins, waiting for work, for about a tenth of a second before it sleeps. On a 2-core
machine that spinning takes the core the app's other start-up work needs (the model loading in
its thread, other processes): measured on a 2-core EPYC, `import numpy` took 190-240 ms of wall
time with OpenBLAS's default two threads against 120-130 ms with one, for the same 120-135 ms of
the importing thread's own CPU time. Nothing before the Paint screen's first frame multiplies
matrices with NumPy's BLAS, so `digits` starts NumPy's OpenBLAS with one thread
(`hold_one_thread`, before NumPy is imported) and gives it the count it would have chosen itself
after that frame (`release`), through OpenBLAS's own `openblas_set_num_threads`.

Only when the choice is ours: if OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS or OMP_NUM_THREADS is
set, or NumPy is already imported, or NumPy's wheel does not bundle OpenBLAS where we look,
nothing changes. The variable is removed again as soon as NumPy is loaded, so SciPy's own
OpenBLAS (loaded later, for training) and child processes start with their usual count.
"""

from __future__ import annotations

import gc
import importlib.util
import os
import sys
from pathlib import Path

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
"""The variables OpenBLAS reads its thread count from; any of them set is the user's choice."""

#: `openblas_set_num_threads` as the scipy-openblas builds that NumPy's wheels bundle export it
#: (64-bit integer build first), then under OpenBLAS's plain names.
SET_NUM_THREADS = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                   "openblas_set_num_threads64_", "openblas_set_num_threads")

_held: Path | None = None  # NumPy's OpenBLAS library, while it is held at one thread
_collector_held = False  # hold() switched the garbage collector off


def numpy_openblas() -> Path | None:
    """The OpenBLAS library bundled with NumPy's wheel (numpy.libs/ on Linux, numpy/.dylibs/
    on macOS), found without importing NumPy; None if there is not exactly one."""
    spec = importlib.util.find_spec("numpy")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    found = [*package.parent.glob("numpy.libs/libscipy_openblas*"),
             *package.glob(".dylibs/libscipy_openblas*")]
    return found[0] if len(found) == 1 else None


def usual_threads() -> int:
    """The thread count OpenBLAS chooses by itself: one per CPU this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def hold() -> None:
    """Before NumPy is imported: hold NumPy's BLAS at one thread (`hold_one_thread`) and switch
    the garbage collector off (if it is on) until `release()`."""
    global _collector_held
    hold_one_thread()
    if gc.isenabled():
        gc.disable()
        _collector_held = True


def release() -> None:
    """After the first frame: the BLAS's usual threads, the garbage collector back on."""
    global _collector_held
    release_threads()
    if _collector_held:
        _collector_held = False
        gc.enable()


def hold_one_thread() -> bool:
    """Before NumPy is imported: make its OpenBLAS start with one thread, unless the thread
    count is the user's choice (or NumPy is imported already). True if it did."""
    global _held
    if "numpy" in sys.modules or any(name in os.environ for name in THREAD_VARIABLES):
        return False
    library = numpy_openblas()
    if library is None:
        return False
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    _held = library
    return True


def numpy_loaded() -> None:
    """After NumPy is imported: take the variable away again (SciPy's OpenBLAS, child
    processes). Its OpenBLAS keeps one thread until `release`."""
    if _held is not None:
        os.environ.pop("OPENBLAS_NUM_THREADS", None)


def release_threads() -> bool:
    """Give NumPy's OpenBLAS its usual thread count, if `hold_one_thread` held it; True if it
    did (False: nothing was held, or the library lacks `openblas_set_num_threads`)."""
    global _held
    if _held is None:
        return False
    import ctypes

    numpy_loaded()
    library, _held = ctypes.CDLL(str(_held)), None  # the copy NumPy loaded: same file
    for name in SET_NUM_THREADS:
        set_num_threads = getattr(library, name, None)
        if set_num_threads is not None:
            set_num_threads.argtypes = [ctypes.c_int]
            set_num_threads.restype = None
            set_num_threads(usual_threads())
            return True
    return False
