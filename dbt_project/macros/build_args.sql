{#- A value of this one build: the event days and landed files it reads, its stamp, and
    whether its data tests read whole tables. Dagster passes them as a JSON object in the
    environment variable RINGSIDE_BUILD_ARGS, read only while SQL runs (execute), never
    while dbt parses the project: passed as --vars, they changed the checksum dbt's
    partial parsing compares, and every micro-batch paid a full parse of the project.
    By hand, `--vars` still sets any of them. -#}
{% macro build_arg(name, default=none) -%}
    {%- set passed = fromjson(env_var('RINGSIDE_BUILD_ARGS', '{}')) if execute else {} -%}
    {{- return(passed[name] if name in passed else var(name, default)) -}}
{%- endmacro %}
