"""The ``scale`` configuration: Postgres stores and the multiprocess executor, by settings only.

Nothing here changes what an asset computes; it chooses where Dagster and MLflow keep their
records and how many processes run the per-symbol partitions:

URLs are SQLAlchemy URLs naming the psycopg2 driver, ``postgresql+psycopg2://user:pass@host/db``
(a bare ``postgresql://`` is completed in the processes this package starts):

- ``TRADING_POSTGRES_URL``: Dagster's instance storage (runs, event log, schedules) on
  Postgres (``dagster-postgres``), written into the home's generated ``dagster.yaml`` as
  ``{env: TRADING_POSTGRES_URL}`` (the password never lands in a file);
- ``TRADING_MLFLOW_TRACKING_URI``: MLflow tracking and registry on that server (a database
  of its own, e.g. ``.../mlflow``), artifacts still in the home's ``mlartifacts/``;
- ``TRADING_EXECUTOR=multiprocess`` and ``TRADING_WORKERS``: per-symbol runs in worker
  processes (see :mod:`trading_assets.runner`), DuckDB writes serialized by the warehouse's
  writer lock (:mod:`trading_assets.warehouse.connection`).

:func:`check_stores` is called before anything is written: an unreachable server or wrong
credentials is a :class:`~trading_assets.errors.ConfigurationError` naming the URL without
its password.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from trading_assets import settings
from trading_assets.errors import ConfigurationError

#: the SQLAlchemy driver both dagster-postgres and MLflow's Postgres store need (SQLAlchemy
#: 2.1 maps a bare postgresql:// to psycopg 3, which dagster-postgres does not support)
DRIVER_SCHEME = "postgresql+psycopg2"

IN_PROCESS = "in_process"
MULTIPROCESS = "multiprocess"
#: Dagster's executors in optional packages: (package, attribute) of the executor definition
EXTERNAL_EXECUTORS = {
    "k8s": ("dagster_k8s", "k8s_job_executor"),
    "celery": ("dagster_celery", "celery_executor"),
}
EXECUTORS = (IN_PROCESS, MULTIPROCESS, *EXTERNAL_EXECUTORS)
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (user, host, port, path and query kept).

    >>> redact_url("postgresql://trader:s3cret@db:5432/dagster")
    'postgresql://trader:***@db:5432/dagster'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def is_postgres(url: str | None) -> bool:
    """Whether ``url`` names a Postgres server (``postgresql://``, ``postgres://``...)."""
    return bool(url) and urlsplit(url).scheme in _POSTGRES_SCHEMES


def with_driver(url: str) -> str:
    """A Postgres ``url`` with the psycopg2 driver named (``postgresql+psycopg2://``); other
    URLs unchanged."""
    parts = urlsplit(url)
    if parts.scheme in ("postgresql", "postgres"):
        return urlunsplit(parts._replace(scheme=DRIVER_SCHEME))
    return url


def libpq_url(url: str) -> str:
    """``url`` as libpq (``psycopg2.connect``) takes it: ``postgresql://``, no driver."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql")) if is_postgres(url) else url


def postgres_url() -> str | None:
    """``TRADING_POSTGRES_URL``, or None (Dagster on SQLite in the home).

    Raises:
        ConfigurationError: set but not a ``postgresql://`` URL.
    """
    url = settings.POSTGRES_URL.read()
    if url is not None and not is_postgres(url):
        raise ConfigurationError(
            f"{settings.POSTGRES_URL.name}={redact_url(url)} is not a postgresql:// URL"
        )
    return url


def mlflow_tracking_uri() -> str | None:
    """``TRADING_MLFLOW_TRACKING_URI``, or None (MLflow on SQLite in the home)."""
    return settings.MLFLOW_TRACKING_URI.read()


def executor() -> str:
    """``in_process`` (default), ``multiprocess``, ``k8s`` or ``celery`` (``TRADING_EXECUTOR``;
    the last two need ``dagster-k8s`` / ``dagster-celery`` installed, see the README).

    Raises:
        ConfigurationError: another value.
    """
    value = settings.EXECUTOR.read().strip().lower().replace("-", "_")
    if value not in EXECUTORS:
        raise ConfigurationError(
            f"{settings.EXECUTOR.name}={value!r}: expected one of {', '.join(EXECUTORS)}"
        )
    return value


def workers() -> int:
    """Worker processes of the multiprocess executor: ``TRADING_WORKERS``, default the
    number of cores this process may use (at least 1).

    Raises:
        ConfigurationError: below 1.
    """
    value = settings.WORKERS.read()
    if value is None:
        return max(1, len(os.sched_getaffinity(0)))
    if value < 1:
        raise ConfigurationError(f"{settings.WORKERS.name} must be at least 1, got {value}")
    return value


def check_postgres(url: str, setting: str, timeout_s: int = 5) -> None:
    """Connect to ``url`` once and run ``SELECT 1``; nothing is created or written.

    Raises:
        ConfigurationError: the server is unreachable, refuses the credentials, or the
            database does not exist; the message names ``setting`` and the URL without its
            password, and says what the server answered.
    """
    import psycopg2

    try:
        con = psycopg2.connect(libpq_url(url), connect_timeout=timeout_s)
    except psycopg2.Error as exc:
        answer = " ".join(str(exc).replace(url, redact_url(url)).split())
        parts = urlsplit(url)
        if parts.password:
            answer = answer.replace(parts.password, "***")
        raise ConfigurationError(
            f"cannot connect to Postgres at {redact_url(url)} ({setting}): {answer}"
        ) from None
    try:
        with con.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        con.close()


def check_stores() -> None:
    """Check every configured Postgres store (Dagster's, MLflow's) before anything is
    written, and name the psycopg2 driver in their URLs in this process's environment (a
    bare ``postgresql://`` becomes ``postgresql+psycopg2://``; child processes such as
    ``dagster dev`` inherit it); a no-op with the embedded defaults.

    Raises:
        ConfigurationError: see :func:`check_postgres`.
    """
    url = postgres_url()
    if url:
        check_postgres(url, settings.POSTGRES_URL.name)
        os.environ[settings.POSTGRES_URL.name] = with_driver(url)
    tracking = mlflow_tracking_uri()
    if is_postgres(tracking):
        check_postgres(tracking, settings.MLFLOW_TRACKING_URI.name)
        os.environ[settings.MLFLOW_TRACKING_URI.name] = with_driver(tracking)
