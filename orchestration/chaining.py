"""Jobs that follow other jobs: under `dagster dev` a run-status sensor starts the next
job after every successful run of the one before (build → scoring → alerts and
summaries); `ringside build` runs the same chain in process (orchestration/runner.py)."""

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    run_status_sensor,
)
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,  # what define_asset_job returns; not exported by dagster
)


def run_after(
    upstream: str, job: JobDefinition | UnresolvedAssetJobDefinition, name: str
) -> SensorDefinition:
    """A sensor named ``name`` requesting ``job`` once per successful ``upstream`` run."""

    @run_status_sensor(
        name=name,
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=None,
        request_job=job,
        default_status=DefaultSensorStatus.RUNNING,
        description=f"Runs `{job.name}` after every successful `{upstream}` run.",
    )
    def follow(context: RunStatusSensorContext) -> RunRequest | None:
        if context.dagster_run.job_name != upstream:
            return None
        return RunRequest(run_key=f"after-{context.dagster_run.run_id}")

    return follow
