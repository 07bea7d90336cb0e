{#- Incremental (macros/incremental_cohorts.sql): the subscriber state of a day depends on
    every subscription event up to it, so the days from the earliest changed event day
    on (and any new days after the last one built) are rewritten. A rewritten day's
    state is the built state of the day before plus the change of the users with a
    subscription event in the rewritten days, each from their state before those
    days: only those users' subscription events are read, never the history. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='replace_where',
        incremental_predicates=["metric_date >= {{ day_rewrite_from('metric_date') }}"],
        on_schema_change='fail',
    )
}}

with recursive

events as (

    select * from {{ ref('fct_events') }}
    {% if is_incremental() %}
    where event_date >= {{ day_rewrite_from('metric_date') }}
    {% endif %}

),

bounds as (

    {% if is_incremental() %}
    select {{ day_rewrite_from('metric_date') }} as first_date, max(event_date) as last_date
    from events
    {% else %}
    select
        min(event_date) as first_date,
        max(event_date) as last_date
    from events
    {% endif %}

),

date_spine as (

    -- Every calendar day of the data, so a quiet day still carries the subscriber state.
    {{ day_spine('date_spine', 'metric_date') }}

),

subscription_events as (

    {{ business_subscription_events('events') }}

),

{% if is_incremental() %}
earlier_subscription_events as (

    -- The subscription events before the rewritten days of the users with one in them:
    -- their state before (macros/incremental_cohorts.sql).
    {{ business_subscription_events(ref('fct_events')) }}
        and event_date < {{ day_rewrite_from('metric_date') }}
        and stitched_user_id in (select stitched_user_id from subscription_events)

),

state_before as (

    select
        stitched_user_id,
        is_start,
        monthly_price_usd,
        row_number() over (
            partition by stitched_user_id
            order by event_date desc, event_time desc, message_id desc
        ) as position_from_last
    from earlier_subscription_events

),

built_before as (

    -- The built state at the end of the day before the rewritten ones (none before the
    -- first day of data).
    select paying_subscribers, mrr_usd
    from {{ this }}
    where metric_date = cast({{ dbt.dateadd('day', -1, day_rewrite_from('metric_date')) }} as date)

),
{% endif %}

daily_changes as (

    select
        event_date as metric_date,
        count(case when is_start then 1 end) as new_subscriptions,
        count(case when not is_start then 1 end) as cancellations
    from subscription_events
    group by event_date

),

last_state_of_day as (

    -- A user's subscription state at the end of a day is set by their last
    -- subscription event of that day (ties broken by message id, deterministically).
    select
        stitched_user_id,
        event_date,
        is_start,
        monthly_price_usd,
        row_number() over (
            partition by stitched_user_id, event_date
            order by event_time desc, message_id desc
        ) as position_from_last
    from subscription_events

),

state_intervals as (

    -- Each end-of-day state holds from its day until the user's next state change.
    select
        stitched_user_id,
        is_start,
        monthly_price_usd,
        event_date as valid_from,
        lead(event_date) over (partition by stitched_user_id order by event_date)
            as valid_until
    from last_state_of_day
    where position_from_last = 1

),

{% if is_incremental() %}
state_changes as (

    -- Each user's state in the rewritten days counts against their state before them,
    -- which the built day before already holds.
    select
        state_intervals.is_start,
        state_intervals.monthly_price_usd,
        state_intervals.valid_from,
        state_intervals.valid_until,
        1 as direction
    from state_intervals

    union all

    select
        state_before.is_start,
        state_before.monthly_price_usd,
        first_change.valid_from,
        cast(null as date) as valid_until,
        -1 as direction
    from state_before
    inner join (
        select stitched_user_id, min(valid_from) as valid_from
        from state_intervals
        group by stitched_user_id
    ) as first_change on first_change.stitched_user_id = state_before.stitched_user_id
    where state_before.position_from_last = 1

),

daily_state as (

    select
        date_spine.metric_date,
        coalesce(max(built_before.paying_subscribers), 0)
            + coalesce(sum(state_changes.direction), 0) as paying_subscribers,
        coalesce(max(built_before.mrr_usd), 0)
            + coalesce(sum(state_changes.direction * state_changes.monthly_price_usd), 0) as mrr_usd
    from date_spine
    left join state_changes
        on state_changes.is_start
        and state_changes.valid_from <= date_spine.metric_date
        and (state_changes.valid_until is null
            or state_changes.valid_until > date_spine.metric_date)
    left join built_before on true
    group by date_spine.metric_date

),
{% else %}
daily_state as (

    select
        date_spine.metric_date,
        count(state_intervals.stitched_user_id) as paying_subscribers,
        coalesce(sum(state_intervals.monthly_price_usd), 0) as mrr_usd
    from date_spine
    left join state_intervals
        on state_intervals.is_start
        and state_intervals.valid_from <= date_spine.metric_date
        and (state_intervals.valid_until is null
            or state_intervals.valid_until > date_spine.metric_date)
    group by date_spine.metric_date

),
{% endif %}

final as (

    select
        daily_state.metric_date,
        coalesce(daily_changes.new_subscriptions, 0) as new_subscriptions,
        coalesce(daily_changes.cancellations, 0) as cancellations,
        -- The start of a day is the end of the previous one; nobody subscribed before
        -- the first day of data.
        cast(coalesce(lag(daily_state.paying_subscribers) over (
            order by daily_state.metric_date
        ),
        {%- if is_incremental() %} (select max(paying_subscribers) from built_before),{% endif %} 0)
            as {{ dbt.type_bigint() }}) as subscribers_at_start,
        cast(daily_state.paying_subscribers as {{ dbt.type_bigint() }}) as paying_subscribers,
        cast(daily_state.mrr_usd as {{ type_double() }}) as mrr_usd
    from daily_state
    left join daily_changes on daily_changes.metric_date = daily_state.metric_date

)

select * from final
