{#-
  same_row_count_as: the model has exactly as many rows as `compare_model`.

  A training set keeps every spine row, no more, no fewer:

      models:
        - name: trip_completion_training_set
          data_tests:
            - fsdbt.same_row_count_as:
                arguments:
                  compare_model: ref('trips')
-#}
{% test same_row_count_as(model, compare_model, row_condition=none) %}
  {{ return(adapter.dispatch('test_same_row_count_as', 'fsdbt')(model, compare_model, row_condition)) }}
{% endtest %}


{% macro default__test_same_row_count_as(model, compare_model, row_condition) %}
with counts as (
    select
        (select count(*) from {{ model }}{% if row_condition %} where {{ row_condition }}{% endif %}) as model_rows,
        (select count(*) from {{ compare_model }}{% if row_condition %} where {{ row_condition }}{% endif %}) as compare_rows
),

validation_errors as (
    select model_rows, compare_rows
    from counts
    where model_rows <> compare_rows
)

select * from validation_errors
{% endmacro %}
