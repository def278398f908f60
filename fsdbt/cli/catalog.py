"""``fsdbt ls`` and ``fsdbt describe``: what the project defines, for people and machines."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fsdbt.catalog_views import service_summary, view_summary
from fsdbt.cli.options import Json, ProfilesDir, ProjectDir, Select, Target
from fsdbt.cli.output import print_json, print_table
from fsdbt.selection import select_views
from fsdbt.store import FeatureStore


def register(app: typer.Typer) -> None:
    app.command("ls")(list_command)
    app.command("describe")(describe_command)


def list_command(project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
                 select: Select = None, json_out: Json = False) -> None:
    """List feature views, features, entities and feature services."""
    store = FeatureStore(project_dir, profiles_dir, target)
    views = select_views(store.list_feature_views(), select)
    names = {v.name for v in views}
    entities = [e for e in store.list_entities() if names & set(e.views)]
    services = [s for s in store.list_feature_services() if not select or names & set(s.views)]
    if json_out:
        print_json({
            "feature_views": [view_summary(v) for v in views],
            "entities": [{"name": e.name, "type": str(e.dtype), "views": list(e.views),
                          "description": e.description} for e in entities],
            "feature_services": [service_summary(s) for s in services],
        })
        return
    print_table("Feature views", ["name", "entities", "timestamp", "ttl", "online", "owner", "tags",
                                  "features", "description"],
                [[v.name, v.entities, v.timestamp, view_summary(v)["ttl"], v.online, v.owner, v.tags,
                  len(v.features), v.description] for v in views])
    print_table("Features", ["feature", "type", "description"],
                [[str(f.ref), str(f.dtype), f.description] for v in views for f in v.features])
    print_table("Entities", ["entity", "type", "views", "description"],
                [[e.name, str(e.dtype), e.views, e.description] for e in entities])
    print_table("Feature services", ["name", "owner", "features", "views", "description"],
                [[s.name, s.owner, len(s.features), s.views, s.description] for s in services])


def describe_command(
    name: Annotated[str, typer.Argument(help="A feature view, a feature (view.feature) or a feature service.")],
    project_dir: ProjectDir = None, profiles_dir: ProfilesDir = None, target: Target = None,
    json_out: Json = False,
) -> None:
    """Describe a view, feature or service: definition, upstream lineage, and what uses it."""
    store = FeatureStore(project_dir, profiles_dir, target)
    doc = store.describe(name)
    if json_out:
        print_json(doc)
        return
    _print_description(doc)


def _print_description(doc: dict[str, Any]) -> None:
    kind = doc["kind"].replace("_", " ")
    typer.echo(f"{kind} {doc.get('ref') or doc['name']}")
    if doc.get("description"):
        typer.echo(f"  {doc['description']}")
    typer.echo("")
    skip = {"kind", "name", "description", "features", "upstream", "used_by", "view"}
    for key, value in doc.items():
        if key in skip or value in (None, [], ""):
            continue
        shown = ", ".join(map(str, value)) if isinstance(value, list) else value
        typer.echo(f"  {key + ':':<20}{shown}")
    if doc.get("view"):
        typer.echo(f"  {'view:':<20}{doc['view']['name']} (entities {', '.join(doc['view']['entities'])}, "
                   f"timestamp {doc['view']['timestamp']}, ttl {doc['view']['ttl'] or 'none'})")
    if isinstance(doc.get("features"), list) and doc["features"]:
        typer.echo("")
        rows = [[f["name"], f["type"], f["description"]] if isinstance(f, dict) else [f, "", ""]
                for f in doc["features"]]
        print_table("Features", ["feature", "type", "description"], rows)
    if doc.get("upstream"):
        print_table("Upstream (nearest first)", ["type", "name", "relation", "file"],
                    [[u["type"], u["name"], u["relation"], u["file"]] for u in doc["upstream"]])
    if doc.get("used_by"):
        used = doc["used_by"]
        typer.echo(f"Used by services: {', '.join(used['services']) or '-'}")
        typer.echo(f"Used by training sets: {', '.join(used['training_sets']) or '-'}")
