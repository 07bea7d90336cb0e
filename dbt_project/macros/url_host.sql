{#- Lower-cased host of a URL (no scheme, port, path or user info); NULL for NULL/empty. -#}
{% macro url_host(url) -%}
    nullif(
        lower(
            {{ dbt.split_part(
                dbt.split_part(
                    dbt.split_part(dbt.split_part(url, "'://'", 2), "'/'", 1),
                    "'?'", 1),
                "':'", 1) }}
        ),
        ''
    )
{%- endmacro %}
