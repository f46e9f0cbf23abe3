#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""run_mpi.py — runs a program under mpirun for the test suite, and fails
a run that hangs.

    run_mpi.py <mpirun> <ranks> <timeout s> [--expect-fail SUBSTRING | --expect-hang]
               -- <program> [args]

Loopback only (--oversubscribe: more ranks than cores is fine here).
Without --expect-fail the run must exit 0. With it, the run must exit
non-zero and every rank must have printed a line "rank R: ..." holding
SUBSTRING: one rank's failure must reach all of them. A run still going
after the timeout is killed (mpirun and every rank: its process group)
and reported as a hang; --expect-hang, the harness's own test, inverts
that: only a hang passes."""
import os
import signal
import subprocess
import sys


def main():
    args = sys.argv[1:]
    mpirun, ranks, timeout = args[0], int(args[1]), float(args[2])
    args = args[3:]
    expect = None
    expect_hang = False
    if args[0] == '--expect-fail':
        expect = args[1]
        args = args[2:]
    elif args[0] == '--expect-hang':
        expect_hang = True
        args = args[1:]
    assert args[0] == '--'
    prog = args[1:]
    env = dict(os.environ)
    # Open MPI refuses to run as root without these (CI containers do);
    # one BLAS thread per rank, so ranks do not fight over the cores, and
    # so each rank's sums are ordered as a single process's.
    env.setdefault('OMPI_ALLOW_RUN_AS_ROOT', '1')
    env.setdefault('OMPI_ALLOW_RUN_AS_ROOT_CONFIRM', '1')
    env.setdefault('OPENBLAS_NUM_THREADS', '1')
    # Sanitizer builds: Open MPI's own allocations (MPI_Init to exit) are
    # not the library's leaks; full unwinding lets the suppressions see the
    # frames below its plugins. Harmless without sanitizers.
    supp = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lsan.supp')
    env['LSAN_OPTIONS'] = ':'.join(filter(None, [env.get('LSAN_OPTIONS'), f'suppressions={supp}']))
    env['ASAN_OPTIONS'] = ':'.join(filter(None, [env.get('ASAN_OPTIONS'), 'fast_unwind_on_malloc=0']))
    forward = []
    for var in ('LSAN_OPTIONS', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'OPENBLAS_NUM_THREADS'):
        if var in env:
            forward += ['-x', var]
    # Ranks that wait yield the core: with more ranks than free cores, Open
    # MPI's busy polling would otherwise starve the rank being waited for.
    cmd = [mpirun, '--oversubscribe', '--bind-to', 'none', '--mca', 'mpi_yield_when_idle', '1'] + \
        forward + ['-np', str(ranks)] + prog
    # Its own process group, so that a hung run is killed whole: mpirun and
    # every rank it started.
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        sys.stdout.write(out)
        sys.stderr.write(err)
        print(f'run_mpi.py: HANG: {" ".join(cmd)} still running after {timeout:g} s; killed',
              file=sys.stderr)
        return 0 if expect_hang else 1
    if expect_hang:
        print(f'run_mpi.py: the run ended (status {p.returncode}); it was meant to hang',
              file=sys.stderr)
        return 1
    r = subprocess.CompletedProcess(cmd, p.returncode, out, err)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if expect is None:
        if r.returncode != 0:
            print(f'run_mpi.py: exit status {r.returncode}', file=sys.stderr)
        return 0 if r.returncode == 0 else 1
    if r.returncode == 0:
        print('run_mpi.py: the run succeeded, but it was meant to fail', file=sys.stderr)
        return 1
    lines = (r.stdout + r.stderr).splitlines()
    missing = [k for k in range(ranks)
               if not any(l.startswith(f'rank {k}: ') and expect in l for l in lines)]
    if missing:
        print(f'run_mpi.py: ranks {missing} did not report "{expect}"', file=sys.stderr)
        return 1
    print(f'run_mpi.py: all {ranks} ranks failed with "{expect}" (exit status {r.returncode})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
