"""How many CPU threads torch may use while the estimator trains or predicts.

torch sizes its thread pool once, at import, which is wrong for a forked
worker told its share later, a container with a CPU quota, or a caller's
``threadpoolctl`` limit: :func:`limit_torch_threads` bounds it by all of these.
"""

import contextlib
import functools
import os

import torch
from joblib import cpu_count

#: Environment variables through which launchers (joblib's loky backend, dask's
#: nanny, job schedulers) give a process its share of CPU threads.
THREAD_LIMIT_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def torch_thread_budget():
    """The number of intra-op threads torch should use in this process.

    The smallest of: torch's current setting (which reflects
    ``torch.set_num_threads`` and ``threadpoolctl`` limits), each positive
    integer in :data:`THREAD_LIMIT_VARIABLES`, and the CPUs this process may
    run on (affinity and cgroup quota, as :func:`joblib.cpu_count` reads them).

    Returns
    -------
    n_threads : int
        At least 1.
    """
    limits = [torch.get_num_threads(), _usable_cpus(os.getpid())]
    for name in THREAD_LIMIT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            limits.append(int(value))
    return max(1, min(limits))


@functools.cache
def _usable_cpus(pid):
    """:func:`joblib.cpu_count` (it reads files), once per process: a fork asks again."""
    return cpu_count()


@contextlib.contextmanager
def limit_torch_threads():
    """Run a block with torch's thread pool bounded by :func:`torch_thread_budget`.

    torch sizes its intra-op pool once, when imported, from ``OMP_NUM_THREADS``
    or the machine's physical cores, which is wrong for a worker of a parallel
    search (joblib, dask) told its share of the CPUs after torch was imported
    (e.g. a forked worker), for a container whose CPU quota is smaller than the
    host's core count, and for a caller who limited native thread pools with
    ``threadpoolctl``: two workers sharing two cores should run one thread each.
    The previous ``torch.get_num_threads()`` is restored on exit, also when the
    block raises.
    """
    previous = torch.get_num_threads()
    budget = torch_thread_budget()
    if budget == previous:
        yield
        return
    torch.set_num_threads(budget)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
