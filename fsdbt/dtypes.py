"""Logical feature types, and how each warehouse's type names map onto them.

One mapping for every warehouse and the online path; ``docs/types-and-time.md`` lists it.
"""

from __future__ import annotations

import re
from enum import Enum


class DType(str, Enum):
    INT = "int64"
    FLOAT = "float64"
    DECIMAL = "decimal"
    STRING = "string"
    BOOL = "bool"
    TIMESTAMP = "timestamp"
    DATE = "date"
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return self.value


_INT = {"tinyint", "smallint", "integer", "int", "bigint", "hugeint", "int1", "int2", "int4", "int8",
        "int16", "int32", "int64", "byteint", "long", "short", "utinyint", "usmallint", "uinteger",
        "ubigint", "serial", "bigserial", "smallserial", "signed"}
_FLOAT = {"double", "double precision", "float", "float4", "float8", "real", "float64", "float32",
          "double_precision"}
_STRING = {"varchar", "text", "string", "char", "character", "character varying", "bpchar", "nvarchar",
           "nchar", "uuid", "enum"}
_BOOL = {"boolean", "bool", "logical"}
_DATE = {"date"}
_TIMESTAMP_PREFIXES = ("timestamp", "datetime")

_PARAMS = re.compile(r"\s*\((.*)\)\s*")


def normalize(type_name: str | None) -> DType:
    """Map a warehouse or yml ``data_type`` onto a logical type.

    >>> normalize("NUMBER(38,0)"), normalize("numeric(10, 2)"), normalize("TIMESTAMP_NTZ(9)")
    (<DType.INT: 'int64'>, <DType.DECIMAL: 'decimal'>, <DType.TIMESTAMP: 'timestamp'>)
    """
    if not type_name:
        return DType.UNKNOWN
    text = type_name.strip().lower()
    params = ""
    match = _PARAMS.search(text)
    if match:
        params = match.group(1)
        text = (text[: match.start()] + " " + text[match.end():]).strip()
    text = re.sub(r"\s+", " ", text)
    if text.startswith(_TIMESTAMP_PREFIXES):
        return DType.TIMESTAMP
    if text in _DATE:
        return DType.DATE
    if text in _INT:
        return DType.INT
    if text in _FLOAT:
        return DType.FLOAT
    if text in _BOOL:
        return DType.BOOL
    if text in _STRING or text.startswith(("varchar", "character varying", "char")):
        return DType.STRING
    if text in {"number", "numeric", "decimal", "dec"}:
        # Snowflake's integers are NUMBER(38,0); a scale of 0 (or none) is an integer.
        scale = params.split(",")[1].strip() if "," in params else "0"
        if text == "number" or scale == "0":
            return DType.INT if scale == "0" else DType.DECIMAL
        return DType.DECIMAL
    return DType.UNKNOWN


def is_temporal(dtype: DType) -> bool:
    return dtype in (DType.TIMESTAMP, DType.DATE)
