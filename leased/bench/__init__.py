"""leased-bench: measure leased against Kea 2.2 on the same workloads.

Theory of operation
-------------------

leased has to beat Kea 2.2 on speed, and this package is where that is
checked.  Each workload of the table in :mod:`leased.bench.workloads` is run
against both servers in the same run: the runner (:mod:`leased.bench.runner`)
starts them through :mod:`leased.harness` from one Kea-shaped configuration,
preloads the same leases into each, then times the workload's action on one
server and then the other, repeatedly, so that the noise of a shared machine
falls on both.  The load generator (:mod:`leased.bench.loadgen`) is the same
code for both servers, pinned to a core of its own, and its ceiling is
measured against a trivial stand-in server (:mod:`leased.bench.standin`) in
every run.  :mod:`leased.bench.report` turns the samples into medians,
spreads and ratios leased/Kea, printed beside each target, and into JSON.

Run it as ``leased-bench`` or ``python -m leased.bench``; ``--smoke`` runs
every workload at a tiny scale in a few seconds, which the test suite does so
that the tool cannot rot.  It is not a test: no figure it prints can fail the
suite.
"""
