-- Fire drill (`ringside build --drill`): fails the build on purpose, so on-call can check
-- that `ringside status`, /health and the pipeline alert rules notice a failed build,
-- the way paging is tested. One row = one failure; without the drill it returns none.
-- Always enabled (the var only decides the rows), so the manifest Dagster loads knows
-- it; the hint below makes it a check of fct_events in Dagster without reading it.
-- depends_on: {{ ref('fct_events') }}
select 'fire drill: this build fails on purpose (ringside build --drill)' as reason
where {{ 'true' if var('ringside_drill', false) else 'false' }}
