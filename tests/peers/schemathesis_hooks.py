"""Schemathesis hooks for sso-bridge's API (tests/it/schemathesis.rs sets SCHEMATHESIS_HOOKS).

The mapping import is NDJSON, which OpenAPI 3.1 cannot describe item by item; the document
describes it as an array of lines, and this serializer sends each item as one line.
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson", "application/jsonl")
def ndjson(ctx, value):
    if isinstance(value, list):
        return "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in value).encode()
    if isinstance(value, str):
        return value.encode()
    return (json.dumps(value, ensure_ascii=False) + "\n").encode()
