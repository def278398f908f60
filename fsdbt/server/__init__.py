"""The HTTP feature server (``fsdbt serve``): Feast-compatible online reads and pushes.

``fsdbt.server.app.create_app`` builds the ASGI app; ``feast_wire`` is the pure request and
response translation; ``metrics`` and ``openapi`` the operational pages. Starlette, uvicorn
and orjson are the ``server`` extra: importing ``fsdbt`` does not import them.
"""
