#!/usr/bin/python3
"""Validate sandbench reports against docs/report.schema.json with python3-jsonschema.
Usage: validate_report.py SCHEMA FILE_OR_DIR... ; exits 1 naming the first invalid file."""
import json
import pathlib
import sys

import jsonschema


def main():
    schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    files = []
    for arg in sys.argv[2:]:
        p = pathlib.Path(arg)
        files += sorted(p.glob("*.json")) if p.is_dir() else [p]
    if not files:
        print("validate_report: no report found in", sys.argv[2:], file=sys.stderr)
        return 1
    for f in files:
        errors = sorted(validator.iter_errors(json.loads(f.read_text())), key=lambda e: list(e.path))
        if errors:
            e = errors[0]
            print(f"{f}: {'/'.join(map(str, e.path))}: {e.message}", file=sys.stderr)
            return 1
    print(f"{len(files)} report(s) valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
