"""The ``fsdbt`` command line. Results go to stdout, diagnostics to stderr.

Exit codes: 0 success, 1 error, 2 usage error, 3 partial success (some views done, some refused),
4 drift found (`fsdbt stats --fail-on-drift`).
"""

from __future__ import annotations

import sys

import typer

from fsdbt.cli import catalog, demo, online, push_log, scaffold, serve, stats, training
from fsdbt.errors import FsdbtError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

app = typer.Typer(
    name="fsdbt",
    help="fsdbt: a dbt-native feature store. Features are dbt models; fsdbt builds training sets "
    "and serves their latest values online.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
catalog.register(app)
scaffold.register(app)
training.register(app)
online.register(app)
serve.register(app)
stats.register(app)
app.add_typer(demo.app, name="demo")
app.add_typer(push_log.app, name="push-log")


def main() -> None:
    """Console entry point: a user mistake prints one clear message, never a traceback."""
    try:
        code = app(standalone_mode=False)
    except FsdbtError as exc:
        print(f"fsdbt: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("fsdbt: aborted", file=sys.stderr)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        print("fsdbt: interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # click's usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show(file=sys.stderr)
            sys.exit(exc.exit_code)
        raise
    # Outside standalone mode, click returns the code of a `typer.Exit` instead of exiting with it.
    if isinstance(code, int) and not isinstance(code, bool) and code:
        sys.exit(code)
