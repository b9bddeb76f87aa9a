"""AWS through credd with the real programs: moto's server (STS, IAM, S3, signature checks on
where moto can check), the AWS CLI and boto3 calling `credd aws` as their credential_process,
`credd import aws` rewriting the real files."""

from __future__ import annotations

import json
import shutil
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.aws import MOTO_SERVER, REGION, FaultProxy, MotoServer
from tests.support.cli import credd
from tests.support.daemon import DaemonProcess
from tests.support.requirements import require_module, require_path

pytestmark = pytest.mark.integration

AWS_CLI = Path(__file__).resolve().parents[2] / "build" / "awscli" / "bin" / "aws"

ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
)


def aws_daemon(env: dict[str, str], sts_url: str) -> DaemonProcess:
    home = Path(env["CREDD_HOME"])
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'aws_endpoint_url_sts = "{sts_url}"\naws_region = "{REGION}"\nrefresh_timeout = 10\n'
    )
    return DaemonProcess(home, Path(env["CREDD_SOCKET"]), env)


def tool_env(env: dict[str, str], moto: MotoServer) -> dict[str, str]:
    """What the AWS CLI and boto3 run with: moto as every endpoint, no keys of their own."""
    tools = {key: value for key, value in env.items() if not key.startswith("AWS_")}
    tools.update(
        AWS_ENDPOINT_URL=moto.url, AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true"
    )
    return tools


def admin(moto: MotoServer, service: str) -> Any:
    """A boto3 client with moto's own test keys: for the setup calls before checks start."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="AKIAADMINSETUP000000",
        aws_secret_access_key="setup-secret",
    )


def iam_user(moto: MotoServer) -> tuple[str, str]:
    """A user allowed everything (3 calls); its access key id and secret key."""
    iam = admin(moto, "iam")
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="all", PolicyDocument=ALLOW_ALL)
    key = iam.create_access_key(UserName="dev")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def aws_cli(env: dict[str, str], *args: str) -> Any:
    import subprocess

    return subprocess.run(
        [str(AWS_CLI), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def every_file_under(root: Path) -> Iterator[Path]:
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


@pytest.fixture
def aws_tools() -> None:
    require_path(MOTO_SERVER, "moto_server (moto[server])")
    require_path(AWS_CLI, "the AWS CLI (make aws-cli)")
    require_module("boto3")


def test_import_remove_source_then_cli_and_s3_with_signature_checks(
    aws_tools: None, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    env = headless_credd_env
    with MotoServer(short_tmp / "moto.log", auth_after=3) as moto:
        key_id, secret = iam_user(moto)
        home = Path(env["HOME"])
        (home / ".aws").mkdir(mode=0o700)
        credentials = home / ".aws" / "credentials"
        config = home / ".aws" / "config"
        credentials.write_text(
            "# work keys\n"
            "[dev team]\n"
            f"aws_access_key_id = {key_id}\n"
            f"aws_secret_access_key = {secret}\n"
            "\n"
            "[empty]\n"
            "# nothing here\n"
        )
        credentials.chmod(0o640)
        config_text = (
            "; the user's config\n[profile 'dev team']\nregion = us-east-1\noutput = json\n"
        )
        config.write_text(config_text)
        original = credentials.read_bytes()

        with aws_daemon(env, moto.url):
            dry = credd(env, "import", "aws", "--dry-run", "--remove-source", "--no-session")
            assert dry.returncode == 0, dry.stderr
            assert "would add     aws:dev team ([dev team])" in dry.stdout
            credd_path = shutil.which("credd", path=env["PATH"])
            assert credd_path is not None
            assert f"credential_process = {credd_path} aws 'aws:dev team'" in dry.stdout
            assert credentials.read_bytes() == original
            assert config.read_text() == config_text
            assert secret not in dry.stdout + dry.stderr

            moved = credd(env, "import", "aws", "--remove-source", "--no-session")
            assert moved.returncode == 0, moved.stderr
            assert "cleared" in moved.stdout

            left = credentials.read_text()
            assert key_id not in left
            assert secret not in left
            assert "# work keys\n" in left
            assert "[empty]\n# nothing here\n" in left
            assert stat.S_IMODE(credentials.stat().st_mode) == 0o640
            assert config.read_text() == (
                "; the user's config\n[profile 'dev team']\nregion = us-east-1\noutput = json\n"
                f"credential_process = {credd_path} aws 'aws:dev team'\n"
            )

            tools = tool_env(env, moto)
            identity = aws_cli(tools, "sts", "get-caller-identity", "--profile", "dev team")
            assert identity.returncode == 0, identity.stderr
            assert json.loads(identity.stdout)["Arn"].endswith(":user/dev")

            payload = short_tmp / "payload.txt"
            payload.write_text("through credd\n")
            steps = [
                ("s3api", "create-bucket", "--bucket", "credd-test"),
                ("s3", "cp", str(payload), "s3://credd-test/payload.txt"),
                ("s3", "cp", "s3://credd-test/payload.txt", str(short_tmp / "back.txt")),
            ]
            for step in steps:
                done = aws_cli(tools, *step, "--profile", "dev team")
                assert done.returncode == 0, done.stderr
            assert (short_tmp / "back.txt").read_text() == "through credd\n"

            # The checks are on: a key moto does not know is refused.
            bogus = {**tools, "AWS_ACCESS_KEY_ID": "AKIABOGUS00000000000"}
            bogus["AWS_SECRET_ACCESS_KEY"] = "bogus"
            refused = aws_cli(bogus, "sts", "get-caller-identity")
            assert refused.returncode != 0

            # The long-lived key is in no file but the encrypted store, and in no
            # environment or argument credd's children got.
            for path in every_file_under(home):
                assert secret.encode() not in path.read_bytes(), path
            for path in every_file_under(Path(env["CREDD_HOME"])):
                assert secret.encode() not in path.read_bytes(), path
            assert all(secret not in value for value in tools.values())


def test_role_arn_sessions_with_signature_checks(
    aws_tools: None, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    """credd signs AssumeRole with botocore; moto checks it, and the role's keys, on S3."""
    env = headless_credd_env
    with MotoServer(short_tmp / "moto.log", auth_after=5) as moto:
        key_id, secret = iam_user(moto)
        iam = admin(moto, "iam")
        role = iam.create_role(RoleName="deploy", AssumeRolePolicyDocument=TRUST)["Role"]
        iam.put_role_policy(RoleName="deploy", PolicyName="all", PolicyDocument=ALLOW_ALL)

        with aws_daemon(env, moto.url):
            added = credd(
                env,
                "aws",
                "add",
                "aws:deploy",
                "--access-key-id",
                key_id,
                "--role-arn",
                role["Arn"],
                input=secret + "\n",
            )
            assert added.returncode == 0, added.stderr
            answer = credd(env, "aws", "aws:deploy")
            assert answer.returncode == 0, answer.stderr
            assert answer.stderr == ""
            document = json.loads(answer.stdout)
            assert document["Version"] == 1
            assert document["AccessKeyId"] != key_id
            assert document["SecretAccessKey"] != secret
            assert document["SessionToken"]
            expires = datetime.fromisoformat(document["Expiration"])
            assert expires > datetime.now(UTC)

            # Cached: the same session until the margin, not one STS call per tool start.
            again = json.loads(credd(env, "aws", "aws:deploy").stdout)
            assert again == document

            home = Path(env["HOME"])
            (home / ".aws").mkdir(mode=0o700)
            credd_path = shutil.which("credd", path=env["PATH"])
            (home / ".aws" / "config").write_text(
                f"[profile deploy]\ncredential_process = {credd_path} aws aws:deploy\n"
            )
            tools = tool_env(env, moto)
            identity = aws_cli(tools, "sts", "get-caller-identity", "--profile", "deploy")
            assert identity.returncode == 0, identity.stderr
            assert ":assumed-role/deploy/" in json.loads(identity.stdout)["Arn"]
            made = aws_cli(
                tools, "s3api", "create-bucket", "--bucket", "roles", "--profile", "deploy"
            )
            assert made.returncode == 0, made.stderr

            # The metadata route renders no key and no session secret.
            listed = credd(env, "get", "aws:deploy", "--json")
            assert listed.returncode == 0, listed.stderr
            shown = json.loads(listed.stdout)
            assert shown["kind"] == "aws"
            assert shown["access_key_id"] == key_id
            assert shown["role_arn"] == role["Arn"]
            assert secret not in listed.stdout
            assert document["SecretAccessKey"] not in listed.stdout
            assert document["SessionToken"] not in listed.stdout


def _expiration(env: dict[str, str]) -> datetime | None:
    answer = credd(env, "aws", "aws:short")
    if answer.returncode != 0:
        assert answer.returncode == 1, answer.stderr
        assert answer.stdout == ""
        return None
    document = json.loads(answer.stdout)
    expires = datetime.fromisoformat(document["Expiration"])
    # No tool ever gets a key that has expired.
    assert expires > datetime.now(UTC), document["Expiration"]
    return expires


def test_sessions_rotate_before_expiry_through_an_outage(
    aws_tools: None, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    """GetSessionToken hand-out (moto's checks off); rotation seen through Expiration."""
    env = headless_credd_env
    with (
        MotoServer(short_tmp / "moto.log") as moto,
        FaultProxy(moto.url) as proxy,
        aws_daemon(env, proxy.url),
    ):
        added = credd(
            env,
            "aws",
            "add",
            "aws:short",
            "--access-key-id",
            "AKIALONGLIVED0000000",
            "--session-duration",
            "30",
            input="long-lived-secret\n",
        )
        assert added.returncode == 0, added.stderr
        seen: set[datetime] = set()
        deadline = time.monotonic() + 35
        while time.monotonic() < deadline:
            answer = credd(env, "aws", "aws:short")
            assert answer.returncode == 0, answer.stderr
            expires = datetime.fromisoformat(json.loads(answer.stdout)["Expiration"])
            assert expires > datetime.now(UTC)
            seen.add(expires)
            time.sleep(1)
        assert len(seen) >= 2, seen  # renewed ahead, in the background

        # STS down: 503s, then requests that hang; tools never get an expired key.
        failures = 0
        for mode in ("503", "hang"):
            proxy.mode = mode  # type: ignore[assignment]
            until = time.monotonic() + 15
            while time.monotonic() < until:
                failures += _expiration(env) is None
                time.sleep(0.5)
        proxy.mode = "pass"
        deadline = time.monotonic() + 30
        while _expiration(env) is None:
            assert time.monotonic() < deadline, "no session after STS came back"
            time.sleep(1)
        status = json.loads(credd(env, "status", "--json").stdout)
        assert status["running"] is not False


def test_mfa_login_asks_once_per_session_and_sends_the_code(
    aws_tools: None, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    env = headless_credd_env
    with (
        MotoServer(short_tmp / "moto.log") as moto,
        FaultProxy(moto.url) as proxy,
        aws_daemon(env, proxy.url),
    ):
        added = credd(
            env,
            "aws",
            "add",
            "aws:mfa",
            "--access-key-id",
            "AKIAMFAUSER000000000",
            "--mfa-serial",
            "arn:aws:iam::123456789012:mfa/dev",
            "--session-duration",
            "6",
            input="mfa-user-secret\n",
        )
        assert added.returncode == 0, added.stderr
        before = credd(env, "aws", "aws:mfa")
        assert before.returncode == 5
        assert "credd aws login aws:mfa" in before.stderr
        assert before.stdout == ""

        login = credd(env, "aws", "login", "aws:mfa", input="123456\n")
        assert login.returncode == 0, login.stderr
        assert any(b"TokenCode=123456" in body for body in proxy.bodies)
        asked = proxy.requests
        for _ in range(3):
            answer = credd(env, "aws", "aws:mfa")
            assert answer.returncode == 0, answer.stderr
        assert proxy.requests == asked  # no STS call without a code

        time.sleep(7)
        after = credd(env, "aws", "aws:mfa")
        assert after.returncode == 5, after.stderr
        assert "credd aws login aws:mfa" in after.stderr
        assert proxy.requests == asked  # never renewed in the background


def test_locked_credd_says_to_unlock(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str]
) -> None:
    env = headless_credd_env
    added = credd(
        env,
        "aws",
        "add",
        "aws:plain",
        "--access-key-id",
        "AKIAPLAIN00000000000",
        "--no-session",
        input="plain-secret\n",
    )
    assert added.returncode == 0, added.stderr
    plain = json.loads(credd(env, "aws", "aws:plain").stdout)
    assert plain == {
        "Version": 1,
        "AccessKeyId": "AKIAPLAIN00000000000",
        "SecretAccessKey": "plain-secret",
    }
    assert credd(env, "lock").returncode == 0
    locked = credd(env, "aws", "aws:plain")
    assert locked.returncode == 1
    assert locked.stdout == ""
    assert "credd is locked: run `credd unlock`" in locked.stderr
    assert "plain-secret" not in locked.stderr
    assert credd(env, "unlock").returncode == 0
    missing = credd(env, "aws", "aws:nothing")
    assert missing.returncode == 4
    assert missing.stdout == ""


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("aws_access_key_id = AKIA\n[p]\n", "line 1: a setting before any [section]"),
        ("[p]\naws_access_key_id = AKIA\naws_access_key_id = AKIB\n", "appears twice"),
        ("[p]\naws_secret_access_key = s3cr3t-value\n", "needs both"),
        ("[p]\nthis line is broken\naws_secret_access_key = s3cr3t-value\n", "line 2"),
    ],
)
def test_bad_credentials_files_keep_the_source(
    headless_daemon: DaemonProcess,
    headless_credd_env: dict[str, str],
    text: str,
    complaint: str,
) -> None:
    env = headless_credd_env
    folder = Path(env["HOME"]) / ".aws"
    folder.mkdir(mode=0o700)
    (folder / "credentials").write_text(text)
    (folder / "config").write_text("[default]\nregion = eu-west-1\n")
    result = credd(env, "import", "aws", "--remove-source")
    assert result.returncode == 2, result.stdout + result.stderr
    assert complaint in result.stderr
    assert "s3cr3t-value" not in result.stdout + result.stderr
    assert (folder / "credentials").read_text() == text
    assert (folder / "config").read_text() == "[default]\nregion = eu-west-1\n"
    assert credd(env, "list").stdout == ""


def test_odd_profile_names_and_env_file(
    headless_daemon: DaemonProcess, headless_credd_env: dict[str, str], short_tmp: Path
) -> None:
    """AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE, names with quotes and spaces."""
    env = dict(headless_credd_env)
    credentials = short_tmp / "creds.ini"
    config = short_tmp / "config.ini"
    credentials.write_text(
        "[o'brien x]\naws_access_key_id = AKIAOBRIEN0000000000\n"
        "aws_secret_access_key = obrien-secret\naws_session_token = tok-1\n"
    )
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_CONFIG_FILE=str(config))
    result = credd(env, "import", "aws", "--remove-source")
    assert result.returncode == 0, result.stderr
    listed = json.loads(credd(env, "get", "aws:o'brien x", "--json").stdout)
    assert listed["session"] is False  # temporary keys: handed out as they are
    document = json.loads(credd(env, "aws", "aws:o'brien x").stdout)
    assert document["SessionToken"] == "tok-1"
    section = "[profile 'o'\"'\"'brien x']"
    assert config.read_text().startswith(section + "\n")
    assert "'aws:o'\"'\"'brien x'" in config.read_text()
    assert "obrien-secret" not in credentials.read_text()
    import botocore.session

    session = botocore.session.Session()
    session.set_config_variable("config_file", str(config))
    assert "o'brien x" in session.full_config["profiles"]
