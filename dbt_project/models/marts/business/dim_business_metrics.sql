with

catalog as (

    {{ business_metric_catalog_rows() }}

),

final as (

    select * from catalog

)

select * from final
