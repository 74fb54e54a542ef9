"""Measure one sandbox as a whole, from outside it: its processes, their memory, the files it wrote.

RLIMIT_AS and RLIMIT_NPROC bound each process (and each user); a submission is more than one
process, so the whole tree is measured here every ``Limits.poll_s`` and stopped past its bound:

- memory: the sum over every process in the sandbox of its resident memory less what it maps from
  files and shared memory (``/proc/<pid>/statm``: counters the kernel keeps, read without taking
  the process's memory lock, so a fork bomb cannot stall the measure; ``smaps_rollup``'s Pss, which
  walks page tables under that lock, took 16 s once against 200 processes forking). A forked
  process's copied-on-write pages count for each process, an overestimate only a notebook that forks
  many workers could notice;
- processes: more than ``children`` at once is a fork bomb;
- files: the sandbox's tmpfs (``/tmp``, ``/dev/shm``), read through ``/proc/<kernel>/root``: more
  than ``files`` files, or the folder full, stops the run (the tmpfs size alone would only make the
  student's writes fail).

cgroup v2 would account memory exactly and in the kernel; ``cgroup_v2_unavailable`` says why it is
not used on this machine (the pipeline logs it), and the polling above is the fallback that works
everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from .limits import Limits
from .outcomes import Reason, Stop

PAGE = os.sysconf("SC_PAGE_SIZE")
GIB = 1 << 30


def private(pids: list[int]) -> int:
    """Bytes resident in memory and not mapped from a file or shared memory, summed over ``pids``."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/statm").read_text().split()
            total += max(0, int(fields[1]) - int(fields[2])) * PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def written(kernel: int, folders=("/tmp", "/dev/shm")) -> tuple[int, int, int]:
    """``(bytes, files, bytes_free)`` in the sandbox's tmpfs folders, seen through /proc/<kernel>/root."""
    used = files = free = 0
    for folder in folders:
        try:
            info = os.statvfs(f"/proc/{kernel}/root{folder}")
        except OSError:
            continue
        used += (info.f_blocks - info.f_bfree) * info.f_frsize
        files += info.f_files - info.f_ffree
        free = min(free, info.f_bavail * info.f_frsize) if free else info.f_bavail * info.f_frsize
    return used, files, free


def over(pids: list[int], kernel: int | None, limits: Limits, cell: int | None, baseline_files: int) -> Stop | None:
    """The stop for a sandbox past one of its bounds, or None while it is within them all."""
    if len(pids) > limits.children:
        return Stop(Reason.PROCESSES, cell, f"{len(pids)} processes at once (a fork bomb); the sandbox was killed")
    used = private(pids)
    if used > limits.memory_bytes:
        return Stop(Reason.MEMORY, cell, f"{used / GIB:.2f} GiB in {len(pids)} processes together, over the "
                                         f"{limits.memory_bytes / GIB:g} GiB limit; the sandbox was killed")
    if kernel is not None:
        used, files, free = written(kernel)
        if files - baseline_files > limits.files:
            return Stop(Reason.DISK, cell, f"{files - baseline_files} files written, over the {limits.files} allowed")
        if free < (1 << 20) and used:
            return Stop(Reason.DISK, cell, f"{used / (1 << 20):.0f} MiB written: the writable folders "
                                           f"({(limits.disk_bytes + limits.shm_bytes) / (1 << 20):g} MiB) are full")
    return None


def cgroup_v2_unavailable() -> str | None:
    """Why this process cannot put a kernel in a cgroup v2 of its own with a memory bound (None: it can)."""
    try:
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError as error:
        return f"cannot read /proc/self/mountinfo ({error})"
    roots = [line.split(" - ")[0].split()[4] for line in mounts if " - cgroup2 " in line]
    if not roots:
        return "no cgroup v2 hierarchy is mounted"
    try:
        own = next(line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::"))
    except (OSError, StopIteration):
        return "this process is in no cgroup v2"
    for root in roots:
        folder = Path(root) / own.lstrip("/")
        controllers = (folder / "cgroup.controllers").read_text().split() if (folder / "cgroup.controllers").exists() \
            else []
        if "memory" not in controllers:
            return f"the memory controller is not enabled for {folder} (controllers: {' '.join(controllers) or 'none'})"
        if not os.access(folder, os.W_OK):
            return f"{folder} is not writable (no delegation)"
        return "cgroup v2 with memory control is present but not used by this version: memory is polled"
    return "no cgroup v2 hierarchy is usable"
