"""`digits` starts NumPy's OpenBLAS with one thread and the garbage collector off, and gives both
back after the first frame; a thread count the user chose is left alone."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import pytest

from tui import startup as blas

#: In a fresh process: hold, import NumPy, report the threads and the variable, release, report.
CHECK = """
import ctypes, os
from tui import startup as blas
held = blas.hold_one_thread()
library = blas._held
import numpy
blas.numpy_loaded()
variable = os.environ.get("OPENBLAS_NUM_THREADS")
if held:
    get = getattr(ctypes.CDLL(str(library)), "scipy_openblas_get_num_threads64_")
    before = get()
    released = blas.release_threads()
    print(held, variable, before, released, get(), blas.usual_threads())
else:
    print(held, variable)
"""


#: Only whether it holds, and the variable after (without NumPy: a fast check).
HOLD = """
import os
from tui import startup as blas
print(blas.hold_one_thread(), os.environ.get("OPENBLAS_NUM_THREADS"))
"""


def run_check(code: str = CHECK, **variables: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in blas.THREAD_VARIABLES}
    env.update(variables)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.skipif(blas.numpy_openblas() is None, reason="NumPy without its bundled OpenBLAS")
def test_numpy_blas_starts_with_one_thread_and_gets_its_usual_count_back():
    held, variable, before, released, after, usual = run_check()
    assert held == "True"
    assert variable == "None"  # gone once NumPy is loaded: SciPy, child processes
    assert before == "1"
    assert released == "True"  # this NumPy's OpenBLAS has the function `release` calls
    assert after == usual


@pytest.mark.parametrize("variable", blas.THREAD_VARIABLES)
def test_a_thread_count_the_user_chose_is_left_alone(variable):
    expected = "1" if variable == "OPENBLAS_NUM_THREADS" else "None"
    assert run_check(HOLD, **{variable: "1"}) == ["False", expected]


def test_release_without_hold_does_nothing():
    assert blas.release_threads() is False
    blas.release()
    assert gc.isenabled()


def test_the_collector_is_off_from_hold_to_release(monkeypatch):
    monkeypatch.setattr(blas, "hold_one_thread", lambda: False)  # NumPy is loaded here anyway
    try:
        blas.hold()
        assert not gc.isenabled()
    finally:
        blas.release()
    assert gc.isenabled()


def test_a_model_that_does_not_load_leaves_the_collector_on(tmp_path, capsys):
    from tui.cli import main

    assert main(["--model", str(tmp_path / "missing.npz")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert gc.isenabled()
