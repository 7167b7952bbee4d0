"""Run Alembic migrations from code (the CLI, the server start and the tests use this)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory


def _project_root() -> Path:
    """The checkout (editable install), or the working directory (installed image)."""
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "alembic.ini").exists() else Path.cwd()


ROOT = _project_root()


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at `url`, independent of the working directory."""
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` forward."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at `url` back."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest migration in `migrations/versions`."""
    head = ScriptDirectory.from_config(alembic_config("postgresql://unused")).get_current_head()
    assert head is not None
    return head


def revision_module(filename: str) -> Any:
    """An earlier revision's module (`migrations/versions/<filename>`), loaded by file: a later
    revision that extends its trigger builders, or a downgrade that restores them, reads it."""
    path = ROOT / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"_revision_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
