with recursive

events as (

    select * from {{ ref('fct_events') }}

),

bounds as (

    select min(event_date) as first_date, max(event_date) as last_date
    from events

),

date_spine as (

    -- Every calendar day of the data, so a quiet day still carries the subscriber state.
    {{ day_spine('date_spine', 'metric_date') }}

),

subscription_events as (

    select
        stitched_user_id,
        event_date,
        event_time,
        message_id,
        event_name = 'Subscription Started' as is_start,
        -- docs/metrics.md: MRR counts a monthly plan at its price and an annual plan at
        -- price / 12 (the plan and price are on the Subscription Started event).
        case
            when event_name <> 'Subscription Started' then null
            when lower({{ json_text('properties', 'plan') }}) = 'annual'
                then coalesce(revenue_usd, 0) / 12.0
            else coalesce(revenue_usd, 0)
        end as monthly_price_usd
    from events
    where event_name in ('Subscription Started', 'Subscription Cancelled')

),

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

final as (

    select
        daily_state.metric_date,
        coalesce(daily_changes.new_subscriptions, 0) as new_subscriptions,
        coalesce(daily_changes.cancellations, 0) as cancellations,
        -- The start of a day is the end of the previous one; nobody subscribed before
        -- the first day of data.
        coalesce(lag(daily_state.paying_subscribers) over (
            order by daily_state.metric_date
        ), 0) as subscribers_at_start,
        daily_state.paying_subscribers,
        cast(daily_state.mrr_usd as {{ type_double() }}) as mrr_usd
    from daily_state
    left join daily_changes on daily_changes.metric_date = daily_state.metric_date

)

select * from final
