"""How many CPU threads torch may use while the estimator trains or predicts.

torch sizes its intra-op thread pool once, when it is imported, from
``OMP_NUM_THREADS`` or the machine's physical cores. That size is wrong in
three common situations:

- a worker process of a parallel search (joblib, dask) that was told its share
  of the CPUs through ``OMP_NUM_THREADS`` after torch was already imported,
  e.g. a forked worker;
- a container whose CPU quota is smaller than the host's core count, which
  torch does not read;
- a caller who limited native thread pools with ``threadpoolctl`` (torch's
  OpenMP pool follows such limits, which :func:`torch.get_num_threads` then
  reports).

:func:`limit_torch_threads` bounds torch's pool by all of these for the
duration of a ``with`` block and restores the caller's setting afterwards, so
that two workers sharing two cores run one thread each instead of two.
"""

import contextlib
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
    limits = [torch.get_num_threads(), cpu_count()]
    for name in THREAD_LIMIT_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            limits.append(int(value))
    return max(1, min(limits))


@contextlib.contextmanager
def limit_torch_threads():
    """Run a block with torch's thread pool bounded by :func:`torch_thread_budget`.

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
