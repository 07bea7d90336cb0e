{#- Funnel definitions (`vars.funnels`, docs/metrics.md "Funnels") and what their steps
    match. The schema is ringside/insights/definitions.py (FunnelDefinition); the API's
    engine passes its ad-hoc funnels through funnel_definition and
    funnel_matcher_predicate too (ringside/insights/funnels.py), so a saved funnel and
    the same funnel sent to the API are the same SQL. -#}

{#- The saved funnels with every default filled in (funnel_definition). Raises on what
    would otherwise render wrong SQL silently; the rest of the schema is checked by
    pydantic. -#}
{% macro funnel_definitions() -%}
    {%- set funnels = [] -%}
    {%- for raw in var('funnels', []) -%}
        {%- do funnels.append(funnel_definition(raw)) -%}
    {%- endfor -%}
    {%- if not funnels -%}
        {{ exceptions.raise_compiler_error("vars.funnels in dbt_project.yml defines no funnel") }}
    {%- endif -%}
    {{ return(funnels) }}
{%- endmacro %}

{#- One funnel (a saved one, or an ad-hoc one the API's engine passes as a dict) with
    every default filled in: window {value: 7, unit: day} and its length in seconds,
    step names (the pydantic `label()` when unnamed), exclusion ranges (from_step 1,
    to_step the last step). The shape the counting macros (macros/funnel_counting.sql)
    read. -#}
{% macro funnel_definition(raw) -%}
    {%- set unit_seconds = {'second': 1, 'minute': 60, 'hour': 3600, 'day': 86400, 'week': 604800} -%}
    {%- set window = raw.get('conversion_window') or {} -%}
    {%- set window_value = window.get('value', 7) | int -%}
    {%- set window_unit = window.get('unit', 'day') -%}
    {%- if window_unit not in unit_seconds or window_value <= 0 -%}
        {{ exceptions.raise_compiler_error(
            "funnel " ~ raw.name ~ ": the conversion window needs a positive value and a unit in "
            ~ (unit_seconds.keys() | join('|'))) }}
    {%- endif -%}
    {%- set steps = [] -%}
    {%- for step in raw.steps -%}
        {%- do funnel_check_matcher(raw.name, step) -%}
        {%- do steps.append({
            'matcher': step,
            'number': loop.index,
            'name': step.get('name') or funnel_matcher_label(step),
        }) -%}
    {%- endfor -%}
    {%- if steps | length < 2 -%}
        {{ exceptions.raise_compiler_error("funnel " ~ raw.name ~ " needs at least 2 steps") }}
    {%- endif -%}
    {%- set exclusions = [] -%}
    {%- for exclusion in raw.get('exclusions') or [] -%}
        {%- do funnel_check_matcher(raw.name, exclusion) -%}
        {%- set from_step = exclusion.get('from_step', 1) | int -%}
        {%- set to_step = (exclusion.get('to_step') or steps | length) | int -%}
        {%- if not (1 <= from_step < to_step <= steps | length) -%}
            {{ exceptions.raise_compiler_error(
                "funnel " ~ raw.name ~ ": exclusion between steps " ~ from_step ~ " and "
                ~ to_step ~ " needs 1 <= from_step < to_step <= " ~ steps | length) }}
        {%- endif -%}
        {%- do exclusions.append({
            'matcher': exclusion,
            'number': loop.index,
            'from_step': from_step,
            'to_step': to_step,
        }) -%}
    {%- endfor -%}
    {{ return({
        'name': raw.name,
        'description': raw.get('description') or '',
        'steps': steps,
        'exclusions': exclusions,
        'window_seconds': window_value * unit_seconds[window_unit],
        'window_label': window_value ~ ' ' ~ window_unit ~ ('' if window_value == 1 else 's'),
    }) }}
{%- endmacro %}

{% macro funnel_check_matcher(funnel_name, matcher) -%}
    {%- if (matcher.get('event') is none) == (not matcher.get('page_view')) -%}
        {{ exceptions.raise_compiler_error(
            "funnel " ~ funnel_name ~ ": a step or exclusion needs exactly one of `event` or `page_view: true`") }}
    {%- endif -%}
{%- endmacro %}

{#- A SQL string literal (dim_funnel_steps' captions). -#}
{% macro funnel_text(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- A property value as the text it is compared with: booleans spelled as JSON spells
    them (true/false), not as Python/Jinja does (True/False). -#}
{% macro funnel_property_text(value) -%}
    {%- if value is sameas true -%}
        {{ return('true') }}
    {%- elif value is sameas false -%}
        {{ return('false') }}
    {%- else -%}
        {{ return(value | string) }}
    {%- endif -%}
{%- endmacro %}

{#- Boolean SQL expression over fct_events columns: the event matches the step or
    exclusion (all narrowing fields must hold). NULL columns make it NULL, never true.
    Values go through `literal` (macros/sql_literal.sql): literals in dbt, bound
    parameters in the API's engine. -#}
{% macro funnel_matcher_predicate(matcher, literal=sql_literal) -%}
    {%- set conditions = [] -%}
    {%- if matcher.get('event') is not none -%}
        {%- do conditions.append('event_name = ' ~ literal(matcher.event, 'event')) -%}
    {%- else -%}
        {%- do conditions.append('is_page_view') -%}
    {%- endif -%}
    {%- if matcher.get('path') -%}
        {%- do conditions.append('page_path = ' ~ literal(matcher.path, 'path')) -%}
    {%- endif -%}
    {%- if matcher.get('path_prefix') -%}
        {#- substr, not LIKE: `_` and `%` are common in paths and would act as wildcards. -#}
        {%- do conditions.append(
            'substr(page_path, 1, ' ~ literal(matcher.path_prefix | length, 'prefix_length')
            ~ ') = ' ~ literal(matcher.path_prefix, 'path_prefix')) -%}
    {%- endif -%}
    {%- if matcher.get('content_type') -%}
        {%- do conditions.append('content_type = ' ~ literal(matcher.content_type, 'content_type')) -%}
    {%- endif -%}
    {%- for key, value in (matcher.get('properties') or {}).items() -%}
        {%- do conditions.append(json_text('properties', key, literal) ~ ' = '
            ~ literal(funnel_property_text(value), 'property_value')) -%}
    {%- endfor -%}
    ({{ conditions | join(' and ') }})
{%- endmacro %}

{#- The default step name, exactly as EventMatcher.label() builds it. -#}
{% macro funnel_matcher_label(matcher) -%}
    {%- set details = [] -%}
    {%- for field, caption in [('path', 'path'), ('path_prefix', 'path starts'),
                               ('content_type', 'content type')] -%}
        {%- if matcher.get(field) -%}
            {%- do details.append(caption ~ ' ' ~ matcher.get(field)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for key, value in (matcher.get('properties') or {}).items() -%}
        {%- do details.append(key ~ '=' ~ value) -%}
    {%- endfor -%}
    {%- set base = matcher.get('event') or 'Page view' -%}
    {{ return(base ~ (' (' ~ details | join(', ') ~ ')' if details else '')) }}
{%- endmacro %}

{#- What a step or exclusion matches, spelled out for people reading dim_funnel_steps. -#}
{% macro funnel_matcher_description(matcher) -%}
    {%- set parts = [] -%}
    {%- if matcher.get('event') is not none -%}
        {%- do parts.append('track event ' ~ matcher.event) -%}
    {%- else -%}
        {%- do parts.append('page or screen view') -%}
    {%- endif -%}
    {%- if matcher.get('path') -%}
        {%- do parts.append('path = ' ~ matcher.path) -%}
    {%- endif -%}
    {%- if matcher.get('path_prefix') -%}
        {%- do parts.append('path starts with ' ~ matcher.path_prefix) -%}
    {%- endif -%}
    {%- if matcher.get('content_type') -%}
        {%- do parts.append('content type = ' ~ matcher.content_type) -%}
    {%- endif -%}
    {%- for key, value in (matcher.get('properties') or {}).items() -%}
        {%- do parts.append('properties.' ~ key ~ ' = ' ~ funnel_property_text(value)) -%}
    {%- endfor -%}
    {{ return(parts | join(', ')) }}
{%- endmacro %}

{#- One row per saved funnel step (the columns of dim_funnel_steps), as a union of
    literal selects: the steps live in dbt_project.yml, not in a table. -#}
{% macro funnel_step_rows() -%}
    {%- set rows = [] -%}
    {%- for funnel in funnel_definitions() -%}
        {%- set exclusions = [] -%}
        {%- for exclusion in funnel.exclusions -%}
            {%- do exclusions.append(
                funnel_matcher_description(exclusion.matcher) ~ ' between steps '
                ~ exclusion.from_step ~ ' and ' ~ exclusion.to_step) -%}
        {%- endfor -%}
        {%- for step in funnel.steps -%}
            {%- do rows.append({'funnel': funnel, 'step': step, 'exclusions': exclusions}) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for row in rows %}
    select
        cast({{ funnel_text(row.funnel.name) }} as {{ dbt.type_string() }}) as funnel_name,
        cast({{ funnel_text(row.funnel.description) }} as {{ dbt.type_string() }})
            as funnel_description,
        cast({{ row.step.number }} as {{ dbt.type_int() }}) as step_number,
        cast({{ funnel_text(row.step.name) }} as {{ dbt.type_string() }}) as step_name,
        cast({{ funnel_text(funnel_matcher_description(row.step.matcher)) }}
            as {{ dbt.type_string() }}) as step_matcher,
        cast({{ row.funnel.steps | length }} as {{ dbt.type_int() }}) as total_steps,
        cast({{ funnel_text(row.funnel.window_label) }} as {{ dbt.type_string() }})
            as conversion_window,
        cast({{ row.funnel.window_seconds }} as {{ dbt.type_bigint() }})
            as conversion_window_seconds,
        cast({{ funnel_text(row.exclusions | join('; ')) if row.exclusions else 'null' }}
            as {{ dbt.type_string() }}) as exclusions
        {%- if not loop.last %}
    union all
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Fails with the groups where a step has more users than the step before it: a funnel
    can only narrow (users_k <= users_(k-1)). -#}
{% test funnel_steps_non_increasing(model, column_name, group_by, step_column='step_number') %}
    with stepped as (
        select
            {{ column_name }} as users,
            lag({{ column_name }}) over (
                partition by {{ group_by | join(', ') }} order by {{ step_column }}
            ) as previous_users,
            {{ group_by | join(', ') }},
            {{ step_column }}
        from {{ model }}
    )
    select * from stepped
    where users > previous_users
{% endtest %}
