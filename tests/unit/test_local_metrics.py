"""The local runtime's metrics: EMF documents from stdout, aggregated, in Prometheus text."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from agents_meetings.observability import emit_dimensioned

from infra.local.metrics import EmfTap, MetricsCollector

pytestmark = pytest.mark.unit


def emf(dimensions: dict[str, str], **values: tuple[str, Any]) -> dict[str, Any]:
    return {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {
                    "Namespace": "AgentsMeetingsLocal",
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (unit, _) in values.items()],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (_, value) in values.items()},
    }


def test_counters_sum_per_name_and_dimensions() -> None:
    collector = MetricsCollector()
    collector.collect(emf({"service": "a"}, ApiRequests=("Count", [1.0, 1.0])))
    collector.collect(emf({"service": "a"}, ApiRequests=("Count", 1.0)))
    collector.collect(emf({"service": "b"}, ApiRequests=("Count", 1.0)))
    assert collector.value("ApiRequests", service="a") == 3
    text = collector.exposition()
    assert "# TYPE ApiRequests counter" in text
    assert 'ApiRequests{service="a"} 3' in text and 'ApiRequests{service="b"} 1' in text


def test_times_are_histograms_with_cumulative_buckets() -> None:
    collector = MetricsCollector()
    for latency in (3.0, 40.0, 700.0):
        collector.collect(emf({"route": "GET /x", "service": "a"}, ApiLatency=("Milliseconds", latency)))
    text = collector.exposition()
    assert "# TYPE ApiLatency histogram" in text
    assert 'ApiLatency_bucket{route="GET /x",service="a",le="5"} 1' in text
    assert 'ApiLatency_bucket{route="GET /x",service="a",le="50"} 2' in text
    assert 'ApiLatency_bucket{route="GET /x",service="a",le="+Inf"} 3' in text
    assert 'ApiLatency_count{route="GET /x",service="a"} 3' in text
    assert 'ApiLatency_sum{route="GET /x",service="a"} 743' in text


def test_other_units_are_gauges_keeping_the_last_value() -> None:
    collector = MetricsCollector()
    collector.collect(emf({"service": "a"}, CacheHitRate=("Percent", 40.0)))
    collector.collect(emf({"service": "a"}, CacheHitRate=("Percent", 75.5)))
    assert "# TYPE CacheHitRate gauge" in collector.exposition()
    assert 'CacheHitRate{service="a"} 75.5' in collector.exposition()


def test_label_values_are_escaped() -> None:
    collector = MetricsCollector()
    collector.collect(emf({"route": 'GET /a"b\\c'}, X=("Count", 1)))
    assert 'X{route="GET /a\\"b\\\\c"} 1' in collector.exposition()


def test_the_tap_takes_emf_lines_from_stdout_and_passes_the_rest() -> None:
    out = io.StringIO()
    collector = MetricsCollector()
    tap = EmfTap(out, collector)
    print("Agents-Meetings is running", file=tap)
    print(json.dumps(emf({"service": "a"}, Signed=("Count", 2.0)), separators=(",", ":")), file=tap)
    print(json.dumps({"level": "INFO", "message": "request"}), file=tap)
    assert out.getvalue().splitlines() == ["Agents-Meetings is running", '{"level": "INFO", "message": "request"}']
    assert collector.value("Signed", service="a") == 2


def test_a_dimensioned_metric_is_one_emf_document_with_the_service(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "meetings")
    emit_dimensioned({"ApiLatency": ("Milliseconds", 12.5)}, {"route": "GET /api/v1/health", "status_class": "2xx"})
    document = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    collector = MetricsCollector()
    collector.collect(document)
    assert sorted(document["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["route", "service", "status_class"]
    assert collector.value("ApiLatency", route="GET /api/v1/health", status_class="2xx", service="meetings") == 1
    with pytest.raises(ValueError, match="three dimensions"):
        emit_dimensioned({"X": ("Count", 1)}, {"a": "1", "b": "2", "c": "3"})
