{#- Every UTC day on which a fight event's main card starts, past and announced: the
    forecasts' known future input and the anomaly flags' calendar. A table, rebuilt each
    run from dim_content (one row per fight event at most). -#}
with

fight_events as (

    select starts_at from {{ ref('dim_content') }}
    where content_type = 'fight_event' and starts_at is not null

)

select distinct cast(starts_at as date) as fight_date
from fight_events
