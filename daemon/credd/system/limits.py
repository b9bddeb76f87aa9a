"""The open-files limit: every watcher of `GET /v1/events` holds a connection open.

The soft `RLIMIT_NOFILE` is often 1024 while the hard one is far higher: a thousand watchers
would leave no descriptor for requests, the store file or the keyring's socket. The soft
limit is raised to the hard one at start (what a process may do without privileges). Under
the systemd unit, `LimitNOFILE=` sets it before the daemon starts (its system call filter
forbids setrlimit), so a failure here is only logged.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger(__name__)


def raise_open_files_limit() -> int | None:
    """Raise the soft open-files limit to the hard one; the limit now (None: not on Windows)."""
    if sys.platform == "win32":
        return None
    import resource  # Unix only

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.info("the open-files limit stays at %d (hard %d): %s", soft, hard, exc)
        else:
            soft = hard
    log.info("open-files limit: %d (each event watcher holds one)", soft)
    return soft
