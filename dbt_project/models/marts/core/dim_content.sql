{#- The content catalog, one row per item of the newest content snapshot. A table,
    rebuilt each run: it is the size of the catalog, and a new snapshot replaces it
    whole. -#}
with

content as (

    select * from {{ ref('stg_app__content') }}

)

select * from content
