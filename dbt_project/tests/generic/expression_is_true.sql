{#- Fails with the rows where the expression is not true (dbt_utils' test, without the
    package: dbt packages cannot be downloaded here). -#}
{% test expression_is_true(model, expression) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}
