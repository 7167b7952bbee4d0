"""Run Alembic migrations from code (the CLI, the server start and the tests use this)."""

from __future__ import annotations

from pathlib import Path

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
