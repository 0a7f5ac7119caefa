"""Unit fixtures: a SQLite database migrated once per session, copied for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from puhui.kit import migrations
from puhui.kit.db import Database


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("feedback-template") / "feedback.db"
    migrations.upgrade("feedback", f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_db(migrated_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "feedback.db"
    shutil.copy(migrated_template, path)
    db = Database(f"sqlite:///{path}")
    db.start()
    yield db
    db.stop()
