"""The bounds every student notebook runs under, with defaults sized for one lesson.

A lesson runs in well under a minute on a laptop CPU, so the defaults leave room for a slow
machine and still stop a stuck notebook quickly. torch needs about 1 GiB of address space just to
import, hence the memory default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    wall_s: float = 120.0          # the whole notebook, start of the kernel to the last cell
    cpu_s: int = 90                # CPU seconds of each kernel process (RLIMIT_CPU)
    memory_bytes: int = 4 * GIB    # address space of each kernel process (RLIMIT_AS)
    processes: int = 256           # processes and threads of the sandbox's user (RLIMIT_NPROC)
    children: int = 32             # processes at once below the kernel; more is a fork bomb: killed
    file_bytes: int = 64 * MIB     # the largest file the kernel may write (RLIMIT_FSIZE)
    output_bytes: int = 1 * MIB    # the outputs kept per notebook; the rest is cut
    threads: int = 1               # BLAS/OpenMP/torch threads: workers already use every core

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "Limits":
        return cls(**values)
