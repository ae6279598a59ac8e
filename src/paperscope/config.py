"""Every setting of paperscope in one object: :class:`Settings` (pydantic-settings).

Each setting ``name`` is read, strongest first, from: a value given in code (a command-line
option), the variable ``$PAPERSCOPE_<NAME>``, then ``<home>/config.toml`` -- where
``[section] key`` is the setting ``section_key`` (``[smtp] host`` is ``smtp_host``; a
top-level ``smtp_host = ...`` works too) -- and finally the default.  An empty variable does
not override the file, so a deployment can blank a variable without losing the file's value.

The home itself comes first (the file lives there): ``--home``, then ``$PAPERSCOPE_HOME``,
then the per-user data directory.  The database defaults to ``<home>/paperscope.db``
(SQLite) and can be pointed at PostgreSQL with ``--database`` or ``$PAPERSCOPE_DATABASE_URL``.

A new setting is one field here plus one row in the README's table (tests/test_docs.py checks
that every field has its row).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import platformdirs
from pydantic import Field, IPvAnyNetwork, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from pydantic_settings.sources.utils import parse_env_vars

from .errors import PaperscopeError

ENV_PREFIX = "PAPERSCOPE_"
CONFIG_FILE = "config.toml"
SECRET_FILE = "secret_key"
DEFAULT_BASE_URL = "http://127.0.0.1:8000"
# Who may scrape /metrics and read /healthz in full without a token: this host and the private
# networks (RFC 1918, IPv6 unique-local) where a Prometheus server or a load balancer sits.
DEFAULT_METRICS_ALLOW = ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
DEFAULT_OAI_URL = "https://oaipmh.arxiv.org/oai"
DEFAULT_HF_URL = "https://huggingface.co"
DEFAULT_ARXIV_API_URL = "https://export.arxiv.org"
# ``serve`` hands its resolved settings (command-line options included) to its uvicorn worker
# processes in this one variable, so every worker runs with exactly the parent's object.
SERVE_SETTINGS_ENV = "PAPERSCOPE_SERVE_SETTINGS"
# config.toml keys that predate the one-object scheme; existing files keep working.
TOML_ALIASES: dict[tuple[str, str], str] = {
    ("smtp", "from"): "mail_from",
    ("smtp", "unsubscribe"): "mail_unsubscribe",
    ("web", "base_url"): "base_url",
}

class ConfigError(PaperscopeError):
    """A setting that cannot be used as written (the message names the variable and the file)."""


class Settings(BaseSettings):
    """The settings of one home.  Frozen: code that needs another value builds another object
    (``settings.model_copy(update=...)``)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True, validate_default=True
    )

    # -- where the data lives ------------------------------------------------------------
    home: Path
    database_url: str = ""  # filled in: the SQLite file in the home unless one is given

    # -- the web app ---------------------------------------------------------------------
    # The site's public address: every link that leaves the request (feeds, mails, canonical and
    # Open Graph URLs) starts with it, never with the request's Host header.
    base_url: str = DEFAULT_BASE_URL
    # Behind a reverse proxy: trust X-Forwarded-Proto/-For from these addresses (uvicorn's
    # ProxyHeadersMiddleware; a comma-separated list of IPs or networks, "*" for any).
    proxy: bool = False
    proxy_ips: str = "127.0.0.1"
    secret_key: str | None = None
    secret: str | None = None
    index_refresh: float = Field(default=5.0, ge=0, allow_inf_nan=False)
    # /metrics, and /healthz's detail, answer clients in these networks, or bearing the token.
    metrics_allow: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_METRICS_ALLOW)  # type: ignore[arg-type]
    )
    metrics_token: str | None = None

    # -- sources -------------------------------------------------------------------------
    oai_url: str = DEFAULT_OAI_URL
    hf_url: str = DEFAULT_HF_URL
    arxiv_api_url: str = DEFAULT_ARXIV_API_URL
    # None: the pacing each harvester chooses (see harvest/client.py's Pacing).
    http_delay: float | None = Field(default=None, ge=0)
    http_max_wait: float | None = Field(default=None, ge=0)
    http_retries: int | None = Field(default=None, ge=0)
    http_backoff: float | None = Field(default=None, ge=0)
    http_timeout: float | None = Field(default=None, gt=0)
    embedding_model: str | None = None
    # Embed passages of each abstract beside the paper (index/passages.py): better ranking, at
    # about twice the embedding time and twice the vector files' disk (./run's 1,144 papers:
    # 4,580 passages, 98 s instead of 49 s).
    embedding_passages: bool = True

    # -- mail ----------------------------------------------------------------------------
    smtp_host: str = "localhost"
    smtp_port: int | None = Field(default=None, ge=1, le=65535)  # None: by security, 25/587/465
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = Field(default=30.0, gt=0)
    # A private CA (a company relay with its own certificate); default: the system's CAs.
    smtp_cafile: str | None = None
    mail_from: str = "paperscope <paperscope@localhost>"
    mail_unsubscribe: str | None = None  # None: unsubscribe@<the From domain>

    # -- the scheduler (jobs/) ---------------------------------------------------------
    jobs_enabled: bool = True  # `serve` runs the jobs (`--no-jobs` turns them off for one run)
    jobs_off: Annotated[list[str], NoDecode] = Field(default_factory=list)  # job names not to run
    # Cron expressions (UTC; several separated by ";") by job name, over the catalog's defaults.
    jobs_schedule: dict[str, str] = Field(default_factory=dict)
    # After a failure a job waits at least this long (then its next slot): no hammering a dead source.
    jobs_retry_minutes: float = Field(default=15.0, ge=0)
    harvest_arxiv_sets: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["cs", "stat.ML"])
    harvest_arxiv_window_days: int = Field(default=7, ge=1)  # the first incremental harvest's reach
    harvest_hf_days: int = Field(default=3, ge=0)  # today's list and this many days before it
    digest_daily_at: str = "0 7 * * 1-5"  # cron: when the daily digest goes out
    digest_weekly_at: str = "0 7 * * 1"

    # -- logging -------------------------------------------------------------------------
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("database_url") and data.get("home") is not None:
            data = {**data, "database_url": f"sqlite:///{Path(data['home']) / 'paperscope.db'}"}
        return data

    @field_validator("jobs_off", "harvest_arxiv_sets", "metrics_allow", mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        # A variable holds "cs,stat.ML" (or a JSON list); the file holds a TOML list.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return orjson.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("smtp_security", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("base_url", "hf_url", "arxiv_api_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    # -- derived -------------------------------------------------------------------------
    @property
    def rejects_path(self) -> Path:
        return self.home / "rejects.jsonl"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def config_path(self) -> Path:
        return self.home / CONFIG_FILE

    @property
    def smtp_port_in_force(self) -> int:
        return self.smtp_port or {"none": 25, "starttls": 587, "tls": 465}[self.smtp_security]

    def web_secret(self) -> str:
        """The key that signs sessions and CSRF tokens: ``secret_key``, else the home's key file."""
        return self.secret_key or secret_from_file(self.home)

    def mail_secret(self) -> str:
        """The key that signs mailed links: ``secret``, else the web app's key (so links signed by
        a cron sender verify in the web app)."""
        return self.secret or self.web_secret()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        environ, toml_path = _LOADING.get()
        return (init_settings, _MappingEnvSource(settings_cls, environ), _TomlSource(settings_cls, toml_path))


# What load_settings() is reading: the environment mapping and the config file.  A context
# variable because pydantic-settings builds its sources in a classmethod with no arguments of ours.
_LOADING: ContextVar[tuple[Mapping[str, str], Path | None]] = ContextVar("_LOADING", default=({}, None))


class _MappingEnvSource(EnvSettingsSource):
    """The environment source over a given mapping (``os.environ`` in production, a dict in tests)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class _TomlSource(PydanticBaseSettingsSource):
    """``config.toml`` flattened: ``[section] key`` becomes the setting ``section_key``."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.values = _flatten(read_toml(path)) if path is not None else {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        known = set(self.settings_cls.model_fields) - {"home"}  # the file cannot move its own home
        return {name: value for name, value in self.values.items() if name in known}


def _flatten(document: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in document.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                flat[TOML_ALIASES.get((key, inner), f"{key}_{inner}".replace("-", "_"))] = inner_value
        else:
            flat[key.replace("-", "_")] = value
    return flat


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}; fix or remove the file") from error


def env_name(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def toml_name(field: str) -> str:
    """How ``field`` is spelled in config.toml (``[smtp] host``)."""
    for (section, key), name in TOML_ALIASES.items():
        if name == field:
            return f"[{section}] {key}"
    section, _, key = field.partition("_")
    return f"[{section}] {key}" if key else field


def _explain(error: ValidationError, path: Path | None) -> str:
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "?"
        where = env_name(field) + (f" (or {toml_name(field)} in {path})" if path is not None else "")
        message = (
            "is not a number" if item["type"] in ("int_parsing", "float_parsing", "int_from_float") else item["msg"]
        )
        lines.append(f"{where} = {item.get('input')!r}: {message}")
    return "bad setting: " + "; ".join(lines)


def resolve_home(home: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if home is None:
        home = env.get(f"{ENV_PREFIX}HOME") or platformdirs.user_data_dir("paperscope")
    path = Path(home).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_settings(
    home: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """The settings of ``home`` (see the module docstring for the order); ``overrides`` are
    values given in code, such as command-line options (None means "not given")."""
    env = os.environ if environ is None else environ
    resolved = resolve_home(home, env)
    given = {name: value for name, value in overrides.items() if value is not None}
    if database_url:
        given["database_url"] = database_url
    path = resolved / CONFIG_FILE
    token = _LOADING.set((env, path))
    try:
        return Settings(home=resolved, **given)
    except ValidationError as error:
        raise ConfigError(_explain(error, path)) from None
    finally:
        _LOADING.reset(token)


def environment_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for code that was handed none (a library call with no store): the variables, and
    the config file of ``$PAPERSCOPE_HOME`` when that is set.  Never creates a directory."""
    env = os.environ if environ is None else environ
    home = env.get(f"{ENV_PREFIX}HOME")
    path = Path(home).expanduser() / CONFIG_FILE if home else None
    token = _LOADING.set((env, path))
    try:
        return Settings(home=Path(home or ".").expanduser())
    except ValidationError as error:
        raise ConfigError(_explain(error, path)) from None
    finally:
        _LOADING.reset(token)


def dump_for_workers(settings: Settings) -> str:
    return settings.model_dump_json()


def load_from_parent(payload: str) -> Settings:
    """The object ``serve`` handed its workers (validated again, so a worker never runs on garbage)."""
    token = _LOADING.set(({}, None))
    try:
        return Settings.model_validate_json(payload)
    finally:
        _LOADING.reset(token)


# -- the home's key file ------------------------------------------------------------------------
def secret_from_file(home: Path) -> str:
    """The key in ``<home>/secret_key``, made once (mode 0600) when missing.

    Several workers start at once: each writes a complete key to a private temporary file and
    *links* it into place.  ``link`` fails when the name exists, so exactly one key wins, and
    the name never points at a half-written file; the losers read the winner's key.
    """
    path = home / SECRET_FILE
    for attempt in range(40):
        with contextlib.suppress(FileNotFoundError):
            key = path.read_text().strip()
            if key:
                return key
            # An empty file is left by a version that wrote in place and was killed, or is being
            # written by such a version right now: give it a moment before calling it broken.
            if attempt == 39:
                raise ConfigError(f"{path} is empty: delete it to generate a new secret")
            time.sleep(0.05)
            continue
        _link_new_key(path)
    raise ConfigError(f"cannot create {path}")  # pragma: no cover - the loop returns or raises


def _link_new_key(path: Path) -> None:
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
