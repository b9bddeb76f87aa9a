"""credd's benchmarks: `make bench` (`python -m benchmarks`) prints one table.

Each row measures credd and, where the issue names one, a baseline in the same run, on a
private D-Bus with its own gnome-keyring and a temporary CREDD_HOME that the run starts
and removes. Nothing here is a test: no time is asserted anywhere, only reported.
"""
