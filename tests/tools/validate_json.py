#!/usr/bin/python3
"""Validate one JSON file against a JSON Schema (python3-jsonschema, Draft 2020-12).
Usage: validate_json.py SCHEMA FILE ; exits 1 with the first error."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]))
errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
if errors:
    print(f"{sys.argv[2]}: {'/'.join(map(str, errors[0].path))}: {errors[0].message}", file=sys.stderr)
    sys.exit(1)
print(f"{sys.argv[2]} valid")
