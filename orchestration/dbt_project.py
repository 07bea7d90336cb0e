"""The one dbt project handle, shared by the Dagster assets and the CLI."""

import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from ringside.layout import DBT_PROJECT_DIR
from ringside.settings import get_settings

# The dbt installed beside this interpreter, whether or not the venv is on PATH.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


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
    """Run `dbt parse` so the Dagster definitions can load; returns the manifest path."""
    project = dbt_project()
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
            str(project.target_path),
        ],
        check=True,
    )
    return project.manifest_path
