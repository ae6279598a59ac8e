"""The one settings object (config.toml, environment, options), the home's key file, and logging."""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pytest
from click.testing import CliRunner

from mail_fixtures import free_port
from paperscope.cli import main
from paperscope.config import (
    SERVE_SETTINGS_ENV,
    ConfigError,
    dump_for_workers,
    load_from_parent,
    load_settings,
    secret_from_file,
)

EXE = str(Path(sys.executable).parent / "paperscope")


def test_environment_beats_the_file_which_beats_the_default(home: Path) -> None:
    (home / "config.toml").write_text(
        'index_refresh = 2.5\n[http]\ndelay = 7\nretries = 9\n[oai]\nurl = "http://oai.example.org/oai"\n'
        '[web]\nbase_url = "https://papers.example.org/"\n[log]\nformat = "json"\n'
    )
    env = {"PAPERSCOPE_HTTP_DELAY": "0.5", "PAPERSCOPE_HTTP_RETRIES": "", "PAPERSCOPE_LOG_LEVEL": "debug"}
    settings = load_settings(home, environ=env)
    assert settings.http_delay == 0.5  # the variable wins
    assert settings.http_retries == 9  # an empty variable leaves the file's value
    assert settings.index_refresh == 2.5 and settings.oai_url == "http://oai.example.org/oai"
    assert settings.base_url == "https://papers.example.org"  # [web] base_url, kept from older files
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
    assert settings.http_timeout is None and settings.smtp_host == "localhost"  # defaults
    assert settings.database_url == f"sqlite:///{home / 'paperscope.db'}"
    # A value given in code (a command-line option) beats both.
    assert load_settings(home, environ=env, http_delay=1.5, log_format=None).http_delay == 1.5
    assert load_settings(home, "sqlite:////elsewhere.db", environ=env).database_url == "sqlite:////elsewhere.db"


def test_a_bad_value_names_the_variable_and_the_file(home: Path) -> None:
    with pytest.raises(ConfigError, match=r"PAPERSCOPE_INDEX_REFRESH \(or \[index\] refresh in .*config\.toml\)"):
        load_settings(home, environ={"PAPERSCOPE_INDEX_REFRESH": "-1"})
    (home / "config.toml").write_text('[http]\nretries = "many"\n')
    with pytest.raises(ConfigError, match=r"PAPERSCOPE_HTTP_RETRIES .*is not a number"):
        load_settings(home, environ={})
    (home / "config.toml").write_text("[http\n")
    with pytest.raises(ConfigError, match=r"cannot read .*config\.toml"):
        load_settings(home, environ={})
    # The command line reports it as one line, no traceback.
    result = CliRunner().invoke(main, ["--home", str(home), "stats"])
    assert result.exit_code == 2 and "config.toml" in result.output and "Traceback" not in result.output


def test_serve_hands_its_workers_the_whole_object(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from paperscope.web.app import app_from_env

    settings = load_settings(home, environ={}, index_refresh=0.0, smtp_port=2525)
    assert load_from_parent(dump_for_workers(settings)) == settings
    monkeypatch.setenv(SERVE_SETTINGS_ENV, dump_for_workers(settings))
    monkeypatch.setenv("PAPERSCOPE_INDEX_REFRESH", "3")  # the parent's object wins over the environment
    from fastapi.testclient import TestClient

    app = app_from_env()
    with TestClient(app):
        assert app.state.web.store.settings == settings and app.state.index_refresher is None
    app.state.web.store.close()


def _read_key(home: str, start: float, queue: multiprocessing.Queue[str]) -> None:
    time.sleep(max(0.0, start - time.time()))
    queue.put(secret_from_file(Path(home)))


def test_workers_starting_together_agree_on_one_complete_key(tmp_path: Path) -> None:
    for round_ in range(3):
        home = tmp_path / f"home{round_}"
        home.mkdir()
        context = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[str] = context.Queue()
        start = time.time() + 1.5  # spawned interpreters take a while to start; then all at once
        workers = [context.Process(target=_read_key, args=(str(home), start, queue)) for _ in range(6)]
        for worker in workers:
            worker.start()
        keys = [queue.get(timeout=60) for _ in workers]
        for worker in workers:
            worker.join(timeout=60)
        assert len(set(keys)) == 1 and len(keys[0]) >= 40, keys
        path = home / "secret_key"
        assert path.read_text() == keys[0] and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in home.iterdir()) == ["secret_key"]  # no temporary file left


def test_a_key_file_being_written_in_place_is_waited_for(home: Path) -> None:
    path = home / "secret_key"
    path.write_text("")  # what an older writer leaves for a moment (or for ever, if killed)
    with pytest.raises(ConfigError, match="is empty: delete it"):
        secret_from_file(home)

    def fill_soon() -> None:
        time.sleep(0.3)
        path.write_text("k" * 64)

    import threading

    filler = threading.Thread(target=fill_soon)
    filler.start()
    assert secret_from_file(home) == "k" * 64
    filler.join()


def test_json_log_lines_have_time_level_and_logger(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from paperscope.logs import configure_logging

    try:
        configure_logging("json", "INFO")
        logging.getLogger("paperscope.test").info("hello %s", "there")
        logging.getLogger("alembic.runtime.migration").info("library chatter stays out")
        line = capsys.readouterr().err.strip()
        record = orjson.loads(line)
        assert (record["level"], record["logger"], record["message"]) == ("INFO", "paperscope.test", "hello there")
        assert record["time"].startswith(str(time.gmtime().tm_year))
        configure_logging("text", "INFO")
        logging.getLogger("paperscope.test").warning("plain")
        text = capsys.readouterr().err
        assert " WARNING paperscope.test: plain" in text and text[:4].isdigit()
    finally:
        configure_logging("text", "WARNING")


def test_paperscope_info_records_reach_the_log_under_uvicorn(home: Path, shared_data: Path) -> None:
    """The index refresher logs at INFO inside ``serve``; uvicorn's own log config used to drop it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSCOPE_")}
    from pg import child_env

    env = child_env(home, env)
    small = shared_data / "hf-daily" / "daily_papers_2024-10-25.json"
    subprocess.run([EXE, "--home", str(home), "--quiet", "ingest", str(small), "--no-index"], env=env, check=True)
    port = free_port()
    log = home / "serve.log"
    with open(log, "wb") as handle:
        command = [EXE, "--home", str(home), "--log-format", "json", "serve", "--port", str(port)]
        proc = subprocess.Popen([*command, "--index-refresh", "0.2"], env=env, stdout=handle, stderr=handle)
    try:
        deadline = time.monotonic() + 60
        records: list[dict[str, str]] = []
        while time.monotonic() < deadline:
            lines = [line for line in log.read_text().splitlines() if line.startswith("{")]
            records = [orjson.loads(line) for line in lines]
            if any(r["logger"] == "paperscope.index.refresher" for r in records) and any(
                r["logger"].startswith("uvicorn") for r in records
            ):
                break
            time.sleep(0.2)
        refresher = [r for r in records if r["logger"] == "paperscope.index.refresher"]
        assert refresher and refresher[0]["level"] == "INFO", log.read_text()
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
