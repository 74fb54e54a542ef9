"""How much one call from the judge into a student's kernel costs, by channel.

    .venv/bin/python benchmarks/judge_channel.py [--calls 300]

Three ways to run a student function in a kernel and get its result back, each measured on the
same local python3 kernel:

1. one Jupyter execute request per call (the result read from ``user_expressions``);
2. the judge's channel: a Unix socket, served by the agent from the kernel's main thread, with the
   full codec (``numpy`` arrays in, a tuple of an array and a dict of arrays out), as the judge
   makes a call of lesson 11's optimizer trajectory tests;
3. the same with a number in and out (the floor: framing and one round trip).

The judge uses (2). Figures are only as quiet as the machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from jupyter_client.manager import start_new_kernel  # noqa: E402

from autograder.judge import kernel as kernel_text  # noqa: E402
from autograder.judge import wire  # noqa: E402
from autograder.judge.session import connect  # noqa: E402

STUDENT = """
import numpy as np
def identity(x):
    return x
def momentum_update(w, g, state, eta=0.1, alpha=0.9):
    v = alpha * state.get("v", np.zeros_like(w)) - eta * np.asarray(g)
    return w + v, {"v": v}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    calls = parser.parse_args().calls
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        kc.execute_interactive(STUDENT, silent=True, timeout=60)
        started = time.perf_counter()
        for _ in range(calls):
            kc.execute_interactive("", silent=True, user_expressions={"r": "identity(1)"}, timeout=60)
        per_request = (time.perf_counter() - started) / calls

        with tempfile.TemporaryDirectory(prefix="nnlab-channel-") as folder:
            path = os.path.join(folder, "agent.sock")
            kc.execute_interactive(kernel_text.bootstrap_code(path, "token"), silent=True, timeout=60)
            kc.execute(kernel_text.serve_code(), silent=True)
            session = connect(path, "token", time.monotonic() + 600)
            session.namespace = {}
            found = session.resolve(["identity", "momentum_update"])
            identity, update = found["identity"], found["momentum_update"]
            started = time.perf_counter()
            for _ in range(calls):
                identity(1)
            per_number = (time.perf_counter() - started) / calls
            w, state = np.ones(5), {}
            started = time.perf_counter()
            for _ in range(calls):
                w, state = update(w, np.ones(5), state)
            per_update = (time.perf_counter() - started) / calls
            wire.send(session.sock, {"op": "done", "seq": 0})
            kc.get_shell_msg(timeout=30)
    finally:
        km.shutdown_kernel(now=True)
    print(f"{calls} calls each, load average {os.getloadavg()[0]:.1f}")
    print(f"  Jupyter execute request per call:          {per_request * 1e3:8.2f} ms")
    print(f"  judge socket, an optimizer update per call: {per_update * 1e3:8.2f} ms")
    print(f"  judge socket, a number in and out:          {per_number * 1e3:8.2f} ms")
    print(f"  execute request / judge update:            {per_request / per_update:8.1f} x")


if __name__ == "__main__":
    main()
