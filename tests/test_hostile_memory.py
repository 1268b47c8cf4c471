"""Out of memory while building or training: one line saying how much, and what to change.

Each case runs `digits train` in a subprocess whose address space is capped (RLIMIT_AS) at
what it uses once MNIST is loaded plus 600 MB, so a real MemoryError is raised by NumPy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent("""
    import resource, sys
    from mnist.dataset import load_mnist
    from tui.cli import main

    load_mnist()  # what train holds anyway: the data, the imports, the reader threads' arenas
    size = next(int(line.split()[1]) for line in open("/proc/self/status")
                if line.startswith("VmSize:")) * 1024
    resource.setrlimit(resource.RLIMIT_AS, (size + (600 << 20),) * 2)
    sys.exit(main(["train", "--epochs", "1", *sys.argv[1:]]))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, sets RLIMIT_AS")
@pytest.mark.parametrize("args, asked", [
    (["--hidden", "4096,4096,4096,4096"], "MiB"),  # the network alone: 54 M parameters
    (["--hidden", "4096,4096,4096", "--batch-size", "60000"], "MiB"),  # one layer's batch
    (["--hidden", "8192", "--batch-size", "65536"], "GiB"),
])
def test_out_of_memory_is_one_line(args, asked, tmp_path, mnist_dir):
    script = tmp_path / "oom.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "MNIST_DIR": str(mnist_dir), "MALLOC_ARENA_MAX": "2"}
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                            text=True, env=env, timeout=300, cwd=ROOT)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("digits: error: out of memory while building or training the "
                           "network (NumPy asked for ")
    assert f" {asked} more); use a smaller --hidden or --batch-size" in line
