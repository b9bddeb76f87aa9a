"""Finding 5: two daemons with different CREDD_HOMEs and one runtime folder shared one views
folder, and the second replaced the first's view socket. Now each home has its own views
folder (the default home keeps `credd/views/`), and a live view socket is never unlinked."""

from __future__ import annotations

from pathlib import Path

import pytest

from credd.views.sockets import ViewSocketError, bind_view_socket
from credd_client import Client, socket_path
from credd_client._paths import views_folder_name
from tests.adversarial.conftest import add_view
from tests.support.daemon import DaemonProcess

pytestmark = pytest.mark.integration


def test_the_default_home_keeps_the_published_folder() -> None:
    assert views_folder_name({}) == "views"
    named = views_folder_name({"CREDD_HOME": "/srv/a"})
    socket = Path(socket_path({"CREDD_HOME": "/srv/a", "XDG_RUNTIME_DIR": "/run/user/1"}))
    assert named == "views-" + socket.name.removeprefix("credd-").removesuffix(".sock")


def test_two_homes_in_one_runtime_folder_keep_their_own_views(
    headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    base = {k: v for k, v in headless_credd_env.items() if k != "CREDD_SOCKET"}
    daemons = []
    try:
        for tag in ("a", "b"):
            env = {**base, "CREDD_HOME": str(short_tmp / f"home-{tag}")}
            daemon = DaemonProcess(Path(env["CREDD_HOME"]), Path(socket_path(env)), env).start()
            daemons.append(daemon)
            with Client(str(daemon.socket)) as client:
                client.put("c:x", {"secret": f"from {tag}"})
        assert daemons[0].socket.parent == daemons[1].socket.parent  # one socket folder
        views = [add_view(d.env, "c", "--allow", "c:*") for d in daemons]
        assert views[0] != views[1]
        assert views[0].parent.parent == views[1].parent.parent == daemons[0].socket.parent
        for tag, view in zip(("a", "b"), views, strict=True):
            with Client(str(view)) as client:
                assert client.get("c:x").secret == f"from {tag}"
        # Whatever claims a live view's socket file is refused, and the view answers on.
        with pytest.raises(ViewSocketError, match="served by another daemon"):
            bind_view_socket(views[0], ())
        with Client(str(views[0])) as client:
            assert client.get("c:x").secret == "from a"
        for daemon in daemons:
            assert daemon.stop() == 0
    finally:
        for daemon in daemons:
            if not daemon.stopped:
                daemon.kill()
