"""Invoke one function of a running local platform with an event, as `sam local invoke` would.

    python -m infra.local.invoke health events/health/get.json
    python -m infra.local.invoke users events/users/get-me.json --set ACCESS_TOKEN=eyJ...

The event goes to the embedded Lambda API of the running `make dev` (its "Embedded AWS" URL;
`--aws-url`, default http://127.0.0.1:$LOCAL_AWS_PORT), which runs the function inside the
platform, against its tables, buckets and queues. ``{{NAME}}`` placeholders in the sample events
(events/README.md) are filled from ``--set NAME=VALUE``; one left unfilled is an error."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import boto3

PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")


def fill(text: str, values: dict[str, str]) -> dict[str, Any]:
    """The event with its placeholders filled; ValueError naming any that stay unfilled."""
    filled = PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), text)
    leftover = sorted(set(PLACEHOLDER.findall(filled)))
    if leftover:
        raise ValueError(f"fill these placeholders with --set NAME=VALUE: {', '.join(leftover)}")
    event: dict[str, Any] = json.loads(filled)
    return event


def invoke(aws_url: str, function: str, event: dict[str, Any]) -> tuple[Any, str | None]:
    """(the function's result, Lambda's FunctionError or None) from the embedded Lambda API."""
    client = boto3.client(
        "lambda",
        endpoint_url=aws_url,
        region_name=os.environ.get("AWS_REGION", "us-east-1"),
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - the embedded AWS accepts any key
    )
    answer = client.invoke(FunctionName=function, Payload=json.dumps(event).encode())
    return json.loads(answer["Payload"].read() or b"null"), answer.get("FunctionError")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("function", help="a function name of infra/catalog.py (e.g. health, notify-worker)")
    parser.add_argument("event", type=Path, help="an event file (events/<function>/*.json)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="fill {{NAME}}")
    parser.add_argument("--aws-url", default=f"http://127.0.0.1:{os.environ.get('LOCAL_AWS_PORT', '4566')}")
    args = parser.parse_args(argv)
    values = dict(item.split("=", 1) for item in args.set if "=" in item)
    try:
        event = fill(args.event.read_text(), values)
    except (OSError, ValueError) as exc:
        print(f"invoke: {exc}", file=sys.stderr)
        return 2
    result, error = invoke(args.aws_url, args.function, event)
    print(json.dumps(result, indent=2, default=str))
    return 1 if error else 0


if __name__ == "__main__":
    sys.exit(main())
