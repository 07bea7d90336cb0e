"""The layer contract (pyproject.toml, `make lint`) is kept by the code and breaks on an
upward import: one is planted in a copy of the packages and import-linter must refuse it."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ["ringside", "ingestion", "ml_assets", "orchestration", "api", "benchmarks"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": str(LINT_IMPORTS.parent)},
        capture_output=True,
        text=True,
    )


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(REPO / package, root / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(REPO / "pyproject.toml", root)
    return root


def test_the_packages_keep_the_layer_order(copy: Path):
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("ringside/core/upward.py", "from ingestion import landing"),
        ("ingestion/upward.py", "from ml_assets import churn"),
        ("ringside/insights/upward.py", "from ringside import reports"),
        ("api/upward.py", "from orchestration import chain"),
    ],
)
def test_an_upward_import_breaks_the_contract(copy: Path, module: str, upward: str):
    planted = copy / module
    planted.write_text(upward + "\n")
    try:
        result = lint_imports(copy)
    finally:
        planted.unlink()
    assert result.returncode == 1, result.stdout
    assert "BROKEN" in result.stdout and planted.stem in result.stdout
