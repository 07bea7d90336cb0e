"""The one dbt project handle, shared by the Dagster assets and the CLI."""

from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from ringside.settings import get_settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


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
    project.preparer.prepare(project)
    return project.manifest_path
