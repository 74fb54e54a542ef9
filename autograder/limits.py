"""The bounds every student notebook runs under, with defaults sized for one lesson.

A lesson runs in well under a minute on a laptop CPU, so the defaults leave room for a slow
machine and still stop a stuck notebook quickly. Each bound holds for the submission as a whole:

- memory counts every process of the sandbox together (polled from /proc every ``poll_s``; a single
  process is also held to it at once by RLIMIT_AS). torch needs about 1 GiB of address space to
  import, hence the default;
- the only writable places are two size-limited tmpfs inside the sandbox: the working folder
  ``/tmp`` (``disk_bytes``) and ``/dev/shm`` (``shm_bytes``); they live in memory, never on the
  host's disk, and a notebook that fills them, or creates more than ``files`` files, is stopped;
- processes: RLIMIT_NPROC for the kernel's own user, and more than ``children`` at once is a fork
  bomb, killed whole;
- the input: a notebook larger than ``notebook_bytes``, with more than ``cells`` cells or nested
  deeper than ``depth`` is refused before anything reads it whole.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    wall_s: float = 120.0          # the whole notebook, start of the kernel to the last cell
    cpu_s: int = 90                # CPU seconds of each kernel process (RLIMIT_CPU)
    memory_bytes: int = 4 * GIB    # all the sandbox's processes together (polled), and each one (RLIMIT_AS)
    processes: int = 256           # processes and threads of the sandbox's user (RLIMIT_NPROC)
    children: int = 32             # processes at once below the kernel; more is a fork bomb: killed
    file_bytes: int = 64 * MIB     # the largest file the kernel may write (RLIMIT_FSIZE)
    disk_bytes: int = 512 * MIB    # the writable working folder /tmp (a tmpfs of this size)
    shm_bytes: int = 64 * MIB      # /dev/shm (a tmpfs of this size)
    files: int = 20_000            # files and folders in /tmp and /dev/shm together (polled)
    output_bytes: int = 1 * MIB    # the outputs kept per notebook, updates included; the rest is cut
    threads: int = 1               # BLAS/OpenMP/torch threads: workers already use every core
    poll_s: float = 0.25           # how often the whole tree's memory, processes and files are measured
    notebook_bytes: int = 32 * MIB  # the largest notebook file read
    cells: int = 5_000             # the most cells a notebook may have
    depth: int = 64                # the deepest nesting of the notebook's JSON

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Limits":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})
