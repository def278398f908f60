"""PostgreSQL results as Arrow: numeric columns keep a numeric type."""

from __future__ import annotations

from decimal import Decimal

import pyarrow as pa
import pytest

pytestmark = pytest.mark.postgres


def test_numeric_results_are_numbers_not_text() -> None:
    from fsdbt.warehouse.postgres import PostgresWarehouse

    try:
        wh = PostgresWarehouse({"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test",
                                "connect_timeout": 5})
    except Exception as exc:  # WarehouseError: say why rather than skip
        pytest.fail(f"no PostgreSQL server on 127.0.0.1:5432 (user postgres, database test): {exc}")
    try:
        sql = ("select avg(x) as mean, sum(x)::numeric as total, 1.5::numeric(4, 2) as exact, "
               "null::numeric as missing from (values (1), (2), (4)) v(x)")
        for table in (wh.query_arrow(sql), pa.Table.from_batches(list(wh.stream_arrow(sql)))):
            # An unconstrained numeric (avg(), a bare `numeric`) is a double, as DuckDB's avg() is;
            # numeric(p, s) an exact decimal.
            assert table.schema.types == [pa.float64(), pa.float64(), pa.decimal128(4, 2), pa.float64()]
            assert table.to_pylist() == [{"mean": 7 / 3, "total": 7.0, "exact": Decimal("1.50"), "missing": None}]
    finally:
        wh.close()
