{#- Fails with the rows where the expression is not true (dbt_utils' test, without the
    package: dbt packages cannot be downloaded here). On a column, the expression is
    applied to it: `expression: ">= 0"`. -#}
{% test expression_is_true(model, expression, column_name=None) %}
    select * from {{ model }}
    where not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})
{% endtest %}
