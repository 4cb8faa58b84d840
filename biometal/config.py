"""Workflow configuration: validation against ``config/schema.yaml`` with defaults filled in.

The Snakefile calls :func:`validate_config` once, before any job runs. A wrong key, a wrong
type or an out-of-range value raises :class:`~biometal.errors.ConfigError` whose one-line
message names the dotted key (``simulate.reads.coverage``) and what was wrong; unknown keys
get a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from biometal.errors import ConfigError

# config/schema.yaml, shipped inside the package as biometal/schema.yaml (a link in the
# repository) so that a non-editable install finds it too
SCHEMA_PATH = Path(__file__).resolve().parent / "schema.yaml"


def _extend_with_defaults(validator_class: type) -> type:
    """A validator that fills ``default`` values into the instance before checking it."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001 (jsonschema API)
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    default = subschema["default"]
                    instance[name] = (
                        yaml.safe_load(yaml.safe_dump(default))
                        if isinstance(default, dict | list)
                        else default
                    )
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_Validator = _extend_with_defaults(jsonschema.Draft202012Validator)


def _dotted(path: Any) -> str:
    parts = [str(p) for p in path]
    return ".".join(parts) if parts else "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _dotted(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        name = unknown[0] if unknown else "?"
        full = f"{key}.{name}" if error.absolute_path else name
        hint = difflib.get_close_matches(name, allowed, n=1)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
        return f"unknown config key '{full}' (allowed here: {', '.join(allowed)}){suggestion}"
    if error.validator == "required":
        return f"config key '{key}': {error.message}"
    return f"config key '{key}': {error.message}"


def load_schema(path: str | Path = SCHEMA_PATH) -> dict:
    """Read the JSON Schema (written as YAML)."""
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def validate_config(config: dict, schema: Mapping | None = None) -> dict:
    """Validate ``config`` in place, filling defaults; return it.

    Raises :class:`ConfigError` naming the first offending key (errors are reported in a
    stable order: shallowest key first, then alphabetically).
    """
    if schema is None:
        schema = load_schema()
    if not isinstance(config, dict):
        raise ConfigError(
            f"config must be a mapping of keys to values, got {type(config).__name__}"
        )
    validator = _Validator(schema)
    errors = sorted(
        validator.iter_errors(config),
        key=lambda e: (len(e.absolute_path), [str(p) for p in e.absolute_path], e.message),
    )
    if errors:
        raise ConfigError(_describe(errors[0]))
    return config


def _read_yaml(p: Path) -> dict:
    if not p.is_file():
        raise ConfigError(f"{p}: config file not found")
    try:
        with open(p, encoding="utf-8-sig") as fh:
            data = yaml.safe_load(fh)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{p}:{mark.line + 1}" if mark is not None else str(p)
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a config file must be a mapping of keys to values")
    return data


def _update(base: dict, new: Mapping) -> dict:
    """Layer ``new`` on ``base`` the way Snakemake layers config files (nested mappings merge,
    everything else is replaced)."""
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            _update(base[key], value)
        else:
            base[key] = value
    return base


def load_configs(paths: list[str | Path], schema: Mapping | None = None) -> dict:
    """Read YAML config files, layer each on the ones before it (as ``snakemake --configfile
    a.yaml b.yaml`` does), validate and fill defaults. Errors name the file and line or key."""
    config: dict = {}
    for path in paths:
        _update(config, _read_yaml(Path(path)))
    return validate_config(config, schema)


def load_config(path: str | Path, schema: Mapping | None = None) -> dict:
    """Read a YAML config file and validate it (defaults filled)."""
    return load_configs([path], schema)
