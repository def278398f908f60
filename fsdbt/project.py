"""Locating a dbt project, reading its profile, and knowing when its manifest is stale.

Reads dbt's own files (``dbt_project.yml``, ``profiles.yml``) with dbt's precedence
rules and renders ``env_var()`` the way dbt does, without importing dbt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fsdbt.errors import ConfigError, ManifestError, hint
from fsdbt.rendering import render_tree

_SOURCE_SUFFIXES = (".sql", ".yml", ".yaml", ".py", ".csv", ".md")


@dataclass(frozen=True)
class Target:
    """The dbt target fsdbt works against: warehouse settings and the online store."""

    profile: str
    name: str
    type: str
    settings: Mapping[str, Any] = field(repr=False)
    online_store: Mapping[str, Any] = field(repr=False)

    def describe(self) -> str:
        """A secret-free description for messages: adapter, host/path, database."""
        s = self.settings
        where = s.get("path") or s.get("host") or s.get("account") or ""
        db = s.get("dbname") or s.get("database") or ""
        return f"{self.type} target '{self.name}'" + (f" ({where}{'/' + db if db else ''})" if where else "")


@dataclass(frozen=True)
class DbtProject:
    root: Path
    name: str
    profile: str
    source_paths: tuple[Path, ...]
    target_path: Path
    profiles_dir: Path
    target_name: str | None = None

    @classmethod
    def load(cls, project_dir: str | os.PathLike[str] | None = None,
             profiles_dir: str | os.PathLike[str] | None = None, target: str | None = None) -> DbtProject:
        root = Path(project_dir or os.environ.get("DBT_PROJECT_DIR") or ".").resolve()
        project_file = root / "dbt_project.yml"
        if not project_file.is_file():
            raise ConfigError(f"no dbt_project.yml in {root}; run fsdbt from a dbt project or pass "
                              f"--project-dir (fsdbt init DIR creates a new one)")
        raw = _read_yaml(project_file)
        if not isinstance(raw, dict) or "name" not in raw:
            raise ConfigError(f"{project_file}: not a dbt project file (no 'name')")
        # Only the keys fsdbt needs; the rest (model configs) is dbt's to render.
        wanted = ("name", "profile", "target-path", "model-paths", "macro-paths", "seed-paths",
                  "snapshot-paths", "test-paths", "analysis-paths")
        data = render_tree({k: raw[k] for k in wanted if k in raw}, where=str(project_file))
        paths: list[Path] = []
        for key, default in (("model-paths", ["models"]), ("macro-paths", ["macros"]),
                             ("seed-paths", ["seeds"]), ("snapshot-paths", ["snapshots"]),
                             ("test-paths", ["tests"]), ("analysis-paths", ["analyses"])):
            paths += [root / p for p in data.get(key, default)]
        for extra in ("dbt_project.yml", "packages.yml", "dependencies.yml", "package-lock.yml"):
            paths.append(root / extra)
        return cls(
            root=root, name=str(data["name"]), profile=str(data.get("profile") or data["name"]),
            source_paths=tuple(paths),
            # dbt's precedence: DBT_TARGET_PATH, then dbt_project.yml.
            target_path=root / str(os.environ.get("DBT_TARGET_PATH") or data.get("target-path", "target")),
            profiles_dir=_profiles_dir(profiles_dir, root), target_name=target or os.environ.get("DBT_TARGET"),
        )

    @property
    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"

    @property
    def run_results_path(self) -> Path:
        return self.target_path / "run_results.json"

    def newest_source_mtime(self) -> float:
        """The newest modification time among the files dbt parses (and the profile)."""
        newest = 0.0
        for path in (*self.source_paths, self.profiles_dir / "profiles.yml"):
            if path.is_file():
                newest = max(newest, path.stat().st_mtime)
            elif path.is_dir():
                for dirpath, dirnames, filenames in os.walk(path):
                    dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "target"]
                    for name in filenames:
                        if name.endswith(_SOURCE_SUFFIXES):
                            newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
        return newest

    def manifest_is_fresh(self, adapter_type: str | None = None) -> bool:
        path = self.manifest_path
        if not path.is_file() or path.stat().st_mtime < self.newest_source_mtime():
            return False
        if adapter_type is None:
            return True
        return bool(self.read_manifest().get("metadata", {}).get("adapter_type") == adapter_type)

    def read_manifest(self) -> dict[str, Any]:
        try:
            with open(self.manifest_path, encoding="utf-8") as fh:
                data: dict[str, Any] = json.load(fh)
                return data
        except FileNotFoundError:
            raise ManifestError(f"no manifest at {self.manifest_path}; run `dbt parse` or `dbt build`") from None
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{self.manifest_path} is not valid JSON ({exc}); run `dbt parse` to "
                                f"write it again") from None

    def load_target(self) -> Target:
        """Read ``profiles.yml`` and pick the target, with dbt's rules and messages."""
        path = self.profiles_dir / "profiles.yml"
        if not path.is_file():
            raise ConfigError(f"no profiles.yml in {self.profiles_dir}; pass --profiles-dir, set "
                              f"DBT_PROFILES_DIR, or create {path} with a profile named '{self.profile}'")
        raw = _read_yaml(path) or {}
        if self.profile not in raw:
            profiles = [k for k in raw if k != "config"]
            raise ConfigError(f"{path}: no profile named '{self.profile}' (dbt_project.yml 'profile')"
                              f"{hint(self.profile, profiles, 'Profiles')}")
        profile = raw[self.profile]
        target_name = self.target_name or render_tree(profile.get("target", "default"), where=str(path))
        outputs = profile.get("outputs") or {}
        if target_name not in outputs:
            raise ConfigError(f"{path}: profile '{self.profile}' has no target '{target_name}'"
                              f"{hint(str(target_name), outputs, 'Targets')}")
        settings = render_tree(outputs[target_name], where=f"{path} ({self.profile}.{target_name})")
        if not isinstance(settings, dict) or "type" not in settings:
            raise ConfigError(f"{path}: target '{target_name}' of profile '{self.profile}' has no 'type'")
        online = settings.pop("online_store", None) or _default_online_store(self)
        return Target(profile=self.profile, name=str(target_name), type=str(settings["type"]),
                      settings=settings, online_store=online)


def _default_online_store(project: DbtProject) -> dict[str, Any]:
    # Zero-setup default: an embedded SQLite file beside the manifest.
    return {"type": "sqlite", "path": str(project.target_path / "fsdbt_online.sqlite")}


def _profiles_dir(flag: str | os.PathLike[str] | None, project_root: Path) -> Path:
    if flag:
        return Path(flag).resolve()
    if os.environ.get("DBT_PROFILES_DIR"):
        return Path(os.environ["DBT_PROFILES_DIR"]).resolve()
    if (Path.cwd() / "profiles.yml").is_file():
        return Path.cwd()
    return Path.home() / ".dbt"


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
