"""The EMF documents the code prints (Powertools Metrics): each metric with its value, dimensions
and metadata, read off captured stdout as CloudWatch would read them off the function's log."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import pytest
from agents_meetings.observability import metrics


@dataclass(frozen=True)
class EmittedMetric:
    name: str
    unit: str
    value: float
    dimensions: dict[str, str]
    metadata: dict[str, Any] = field(default_factory=dict)


def parse_emf(text: str) -> list[EmittedMetric]:
    found: list[EmittedMetric] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        directive = document["_aws"]["CloudWatchMetrics"][0]
        dimension_names = directive["Dimensions"][0] if directive["Dimensions"] else []
        names = {item["Name"]: item["Unit"] for item in directive["Metrics"]}
        dimensions = {name: str(document[name]) for name in dimension_names}
        metadata = {k: v for k, v in document.items() if k != "_aws" and k not in names and k not in dimensions}
        for name, unit in names.items():
            values = document[name] if isinstance(document[name], list) else [document[name]]
            found.extend(EmittedMetric(name, unit, float(value), dimensions, metadata) for value in values)
    return found


class EmfCapture:
    """``take()``: what was emitted since the last take (the shared ``metrics`` flushed first)."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self._capsys = capsys
        metrics.clear_metrics()
        capsys.readouterr()

    def take(self) -> list[EmittedMetric]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "No application metrics to publish"
            metrics.flush_metrics(raise_on_empty_metrics=False)
        return parse_emf(self._capsys.readouterr().out)

    def named(self, name: str) -> list[EmittedMetric]:
        return [metric for metric in self.take() if metric.name == name]


@pytest.fixture(name="emf")
def emf_fixture(capsys: pytest.CaptureFixture[str]) -> EmfCapture:
    """Import ``emf_fixture`` into a test module to use the ``emf`` fixture."""
    return EmfCapture(capsys)
