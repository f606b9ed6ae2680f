"""B1 echo worker on pyiii's own worker SDK (``pyiii.sdk``): the same worker as
bench/echo_worker_py.py (official iii-sdk), unchanged but for the import.

    python bench/echo_worker_pyiii.py <engine ws url> [R]
"""

from __future__ import annotations

from echo_worker_py import serve  # run as a script: bench/ is on sys.path

from pyiii.sdk import InitOptions, register_worker

if __name__ == "__main__":
    serve(register_worker, InitOptions)
