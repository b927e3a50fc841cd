"""A validator for the part of JSON Schema (draft 2020-12) that our schema files use.

``jsonschema`` is not a dependency; this covers ``type``, ``const``, ``enum``, ``properties``,
``required``, ``additionalProperties``, ``items``, ``minItems``/``maxItems``,
``minimum``/``maximum``, ``anyOf`` and local ``$ref`` (``#/$defs/...``), and refuses a schema
with any other keyword, so a schema cannot silently rely on one it ignores.
"""

from __future__ import annotations

from typing import Any

_ANNOTATIONS = {'$schema', '$id', '$defs', 'title', 'description'}
_KEYWORDS = {
    'type',
    'const',
    'enum',
    'properties',
    'required',
    'additionalProperties',
    'items',
    'minItems',
    'maxItems',
    'minimum',
    'maximum',
    'anyOf',
    '$ref',
}
_TYPES = {
    'object': lambda v: isinstance(v, dict),
    'array': lambda v: isinstance(v, list),
    'string': lambda v: isinstance(v, str),
    'boolean': lambda v: isinstance(v, bool),
    'null': lambda v: v is None,
    'integer': lambda v: isinstance(v, int) and not isinstance(v, bool),
    'number': lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
}


def schema_errors(value: Any, schema: dict, root: dict | None = None, where: str = '$') -> list:
    """Every place where ``value`` breaks ``schema``, as ``'<json path>: <what>'`` strings."""
    root = schema if root is None else root
    unknown = set(schema) - _KEYWORDS - _ANNOTATIONS
    if unknown:
        raise ValueError(f'schema at {where} uses keywords this validator lacks: {unknown}')
    errors: list[str] = []
    if '$ref' in schema:
        target = root
        for part in schema['$ref'].removeprefix('#/').split('/'):
            target = target[part]
        errors += schema_errors(value, target, root, where)
    if 'type' in schema:
        types = schema['type'] if isinstance(schema['type'], list) else [schema['type']]
        if not any(_TYPES[t](value) for t in types):
            return [*errors, f'{where}: {value!r} is not of type {types}']
    if 'const' in schema and value != schema['const']:
        errors.append(f'{where}: {value!r} is not {schema["const"]!r}')
    if 'enum' in schema and value not in schema['enum']:
        errors.append(f'{where}: {value!r} is not one of {schema["enum"]}')
    if 'anyOf' in schema and not any(
        not schema_errors(value, option, root, where) for option in schema['anyOf']
    ):
        errors.append(f'{where}: {value!r} matches none of anyOf')
    if _TYPES['number'](value):
        if 'minimum' in schema and value < schema['minimum']:
            errors.append(f'{where}: {value} < minimum {schema["minimum"]}')
        if 'maximum' in schema and value > schema['maximum']:
            errors.append(f'{where}: {value} > maximum {schema["maximum"]}')
    if isinstance(value, dict):
        properties = schema.get('properties', {})
        errors += [
            f'{where}: missing {key!r}' for key in schema.get('required', ()) if key not in value
        ]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], root, f'{where}.{key}')
            elif schema.get('additionalProperties') is False:
                errors.append(f'{where}: unexpected {key!r}')
            elif isinstance(schema.get('additionalProperties'), dict):
                errors += schema_errors(
                    item, schema['additionalProperties'], root, f'{where}.{key}'
                )
    if isinstance(value, list):
        if 'minItems' in schema and len(value) < schema['minItems']:
            errors.append(f'{where}: {len(value)} items < minItems {schema["minItems"]}')
        if 'maxItems' in schema and len(value) > schema['maxItems']:
            errors.append(f'{where}: {len(value)} items > maxItems {schema["maxItems"]}')
        if 'items' in schema:
            for index, item in enumerate(value):
                errors += schema_errors(item, schema['items'], root, f'{where}[{index}]')
    return errors
