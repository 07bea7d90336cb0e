{#- Fails with the combinations of the columns that occur more than once (dbt_utils'
    test, without the package: dbt packages cannot be downloaded here). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}
