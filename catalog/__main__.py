"""The `catalog` command (also `python -m catalog`): `catalog.cli.main`, with the collector kept out of
the process's start and end, where its passes are wasted.

Importing the command's modules (pyarrow, requests, our own) allocates only what lives until the
process ends, and the collector's passes over it took about 0.05 s of the 0.4 s. Finalising the
interpreter collects garbage several times over, each pass visiting every object still alive: after a
harvest, 0.1-0.17 s (about 4 % of a 20,000-dataset harvest's wall time). Frozen, those objects are
freed as their modules are cleared, without the passes; atexit handlers and the flush of the standard
streams run as before. Only here, where the process is the command's: a Python session that calls
`main` keeps its collector whole.

Here too, and only here, numpy's OpenBLAS (numpy comes in with pyarrow) starts no threads of its own,
unless the user's OPENBLAS_NUM_THREADS asks for them: the command does no linear algebra, and such a
thread spun for about 0.1 s of CPU after the import.
"""

from __future__ import annotations

import gc
import os
import sys
from typing import NoReturn


def run() -> NoReturn:
    """`catalog.cli.main` as the `catalog` command runs it."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.disable()
    try:
        from catalog.cli import main  # noqa: PLC0415 - imported with the collector off, see above
    finally:
        gc.enable()
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
