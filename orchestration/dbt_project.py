"""The one dbt project handle, shared by the Dagster assets and the CLI."""

import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from ringside.core.layout import DBT_PROJECT_DIR
from ringside.core.settings import get_settings

# The dbt installed beside this interpreter, whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
DBT_OUTPUT_DIRS = {"target", "logs", "dbt_packages"}


@cache
def dbt_project() -> DbtProject:
    """The DbtProject for the configured warehouse. Its manifest comes from
    :func:`prepare_manifest` (run by the CLI and make) or from `dagster dev` itself —
    never from importing the definitions."""
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=get_settings().warehouse,
    )
    project.prepare_if_dev()
    return project


def prepare_manifest() -> Path:
    """Make sure a manifest of the current project exists, so the Dagster definitions can
    load (they need only its graph; `dbt build` parses again with its own environment);
    returns its path. A manifest newer than every project file is kept as it is.

    Otherwise dbt parses into a scratch directory and the manifest is renamed into place:
    a process loading the definitions meanwhile (tests run in parallel) reads a whole
    file, old or new, never a half-written one."""
    project = dbt_project()
    manifest = Path(project.manifest_path)
    if _is_current(manifest, Path(project.project_dir)):
        return manifest
    # dbt reads a relative target path from the project directory, Python from the cwd.
    target = Path(project.project_dir) / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix="parse-") as scratch:
        subprocess.run(
            [
                DBT_EXECUTABLE,
                "parse",
                "--quiet",
                "--project-dir",
                str(project.project_dir),
                "--profiles-dir",
                str(project.profiles_dir),
                "--target-path",
                scratch,
            ],
            check=True,
        )
        os.replace(Path(scratch) / "manifest.json", manifest)
    return manifest


def _is_current(manifest: Path, project_dir: Path) -> bool:
    """Whether `manifest` is newer than every file of the project (dbt's own output
    directories aside)."""
    if not manifest.exists():
        return False
    written = manifest.stat().st_mtime
    return not any(
        path.stat().st_mtime > written
        for path in project_dir.rglob("*")
        if path.is_file() and path.relative_to(project_dir).parts[0] not in DBT_OUTPUT_DIRS
    )
