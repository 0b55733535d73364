"""Item 10 of issue 13: the database, its folder, the key file and exports are private to their
owner, and production refuses to start without encryption keys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.settings import Environment, Settings
from storage.crypto import KEY_FILE, MissingKeys, cipher_from_settings, development_key
from storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_folder_are_owner_only(tmp_path):
    data = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data / 'bot.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('a')"))
    with engine.connect() as connection:  # keeps the WAL and shared-memory files open
        connection.execute(text("SELECT * FROM t")).all()
        files = [p for p in data.iterdir()]
        assert {p.name for p in files} >= {"bot.sqlite3", "bot.sqlite3-wal", "bot.sqlite3-shm"}
        assert mode(data) == 0o700
        for path in files:
            assert mode(path) == 0o600, path.name
    engine.dispose()


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path):
    path = tmp_path / "old" / "bot.sqlite3"
    path.parent.mkdir(mode=0o755)
    for name in ("bot.sqlite3", "bot.sqlite3-wal"):
        (path.parent / name).write_bytes(b"")
        os.chmod(path.parent / name, 0o644)
    os.chmod(path.parent, 0o755)
    make_engine(f"sqlite:///{path}").dispose()
    assert mode(path.parent) == 0o700
    assert mode(path) == 0o600 and mode(path.parent / "bot.sqlite3-wal") == 0o600


def test_every_connection_zeroes_deleted_content(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()


def test_the_development_key_file_and_its_folder_are_owner_only(tmp_path):
    data = tmp_path / "data"
    development_key(data)
    assert mode(data) == 0o700 and mode(data / KEY_FILE) == 0o600
    os.chmod(data / KEY_FILE, 0o644)
    os.chmod(data, 0o755)
    development_key(data)  # an older, world-readable key file is tightened on use
    assert mode(data) == 0o700 and mode(data / KEY_FILE) == 0o600


def test_production_settings_without_keys_are_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="DATA_ENCRYPTION_KEYS must be set in production"):
        Settings(_env_file=None, data_dir=tmp_path, environment="production")


def test_production_never_falls_back_to_a_key_file(tmp_path):
    """Even settings built without validation never make a development key in production."""
    settings = Settings.model_construct(environment=Environment.PRODUCTION, data_dir=tmp_path, data_encryption_keys=None)
    with pytest.raises(MissingKeys, match="DATA_ENCRYPTION_KEYS"):
        cipher_from_settings(settings)
    assert not (tmp_path / KEY_FILE).exists()


def _bot(*args: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "BOT_", "TELEGRAM_", "DATA_", "ENVIRONMENT"))}
    base.update(env)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=base, timeout=120)


def test_the_bot_refuses_to_start_in_production_without_keys(tmp_path):
    result = _bot("run", cwd=tmp_path, env={"ENVIRONMENT": "production", "DATA_DIR": str(tmp_path / "data"),
                                            "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 30})
    assert result.returncode == 2
    assert "DATA_ENCRYPTION_KEYS must be set in production" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / KEY_FILE).exists()


def test_an_export_is_owner_only(tmp_path):
    from tests.test_registration_cli import this_month

    data = tmp_path / "data"
    env = {"DATA_DIR": str(data)}
    assert _bot("demo-data", "--commune", "17035", "--n", "3", cwd=tmp_path, env=env).returncode == 0
    out = tmp_path / "list.csv"
    out.write_text("")
    os.chmod(out, 0o644)  # an existing file is not left readable by others
    result = _bot("export", "--commune", "17035", "--month", this_month(), "--out", str(out), cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert mode(out) == 0o600
    assert mode(data) == 0o700 and mode(data / "bot.sqlite3") == 0o600 and mode(data / KEY_FILE) == 0o600
