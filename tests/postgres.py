"""A throwaway Postgres cluster for tests: ``initdb`` in a temporary folder, a free port on
127.0.0.1, run as the ``postgres`` system user that Debian's ``postgresql`` package creates
(Postgres refuses to run as root), stopped by its postmaster's PID."""

from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.processes import free_port

USER = "trading"
PASSWORD = "s3cret-pw"


@dataclass(frozen=True)
class Cluster:
    """A running cluster: ``url(db)`` gives a ``postgresql://`` URL with the password."""

    port: int
    data: Path

    def url(self, db: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        import psycopg2

        con = psycopg2.connect(self.url())
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        con.close()
        return self.url(name)


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.fail("Postgres is not installed: apt-get install postgresql (.ci/run does)")
    return Path(found[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd  # already an unprivileged user: run as ourselves
    runuser = shutil.which("runuser")
    return (
        [runuser, "-u", "postgres", "--", *cmd]
        if runuser
        else ["su", "postgres", "-c", shlex.join(cmd)]
    )


@contextmanager
def throwaway_cluster(tmp: Path) -> Iterator[Cluster]:
    """Start a cluster in ``tmp`` (made readable and owned by ``postgres`` when running as
    root); yields it; then stops the postmaster by PID (SIGINT: fast shutdown)."""
    bin_dir = _bin_dir()
    tmp.mkdir(parents=True, exist_ok=True)
    data, pwfile = tmp / "data", tmp / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (tmp, pwfile):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        for parent in tmp.parents:  # the postgres user must reach the folder
            if parent != Path("/"):
                os.chmod(parent, os.stat(parent).st_mode | 0o011)
    subprocess.run(
        _as_postgres([
            str(bin_dir / "initdb"), "-D", str(data), "-U", USER, "--auth=md5",
            f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync",
        ]),
        check=True, capture_output=True, cwd=tmp,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        _as_postgres([
            str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
            "-k", str(tmp), "-c", "fsync=off", "-c", "max_connections=200",
        ]),
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp,
    )  # fmt: skip
    cluster = Cluster(port, data)
    pid_file = data / "postmaster.pid"
    try:
        import psycopg2

        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                pytest.fail(f"postgres exited: {server.stderr.read().decode()[-2000:]}")
            try:
                psycopg2.connect(cluster.url(), connect_timeout=2).close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    pytest.fail("postgres did not accept connections within 60 s")
                time.sleep(0.3)
        yield cluster
    finally:
        if pid_file.exists():
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
