"""The parts of ``leasectl``, the command-line client for people.

:mod:`leased.leasectl` is the program; these modules each do one job:
:mod:`~leased.ctl.request` turns ``key=value`` words into a command's
arguments, :mod:`~leased.ctl.render` turns answers into readable text,
:mod:`~leased.ctl.transfer` moves every lease out of a daemon and into one,
and :mod:`~leased.ctl.progress` shows how far that has come on a terminal.

None of them knows the list of commands: a command the daemon learns later
is sent and shown by the same code.
"""
