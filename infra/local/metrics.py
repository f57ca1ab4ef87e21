"""The local runtime's ``GET /metrics``: the functions' EMF output, aggregated, in Prometheus text.

In the cloud, Powertools Metrics prints an EMF document to stdout at each flush and CloudWatch
turns it into metrics. Here every function runs in this process, so ``EmfTap`` sits on stdout:
an EMF line goes to the ``MetricsCollector`` (and not to the log), anything else passes through.
Per metric name and dimension values: a ``Count`` metric is a counter (the sum of its values), a
time (milliseconds, seconds, microseconds) a histogram, any other unit a gauge (the last value).
Names are the functions' own (``ApiRequests``, ``ApiLatency``, ``NotificationEmailSent``, ...);
dimensions are labels.
"""

from __future__ import annotations

import io
import json
import math
import re
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, TextIO

from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

PATH = "/metrics"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TIME_UNITS = {"Milliseconds": "milliseconds", "Seconds": "seconds", "Microseconds": "microseconds"}
# Upper bounds per time unit: a request's milliseconds, a meeting's or a transcription's seconds.
BUCKETS: dict[str, tuple[float, ...]] = {
    "Milliseconds": (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
    "Seconds": (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400),
    "Microseconds": (100, 500, 1000, 5000, 10000, 50000, 100000, 500000, 1000000),
}
_NAME = re.compile(r"[^a-zA-Z0-9_:]")
_LABEL = re.compile(r"[^a-zA-Z0-9_]")
Labels = tuple[tuple[str, str], ...]


def metric_name(name: str) -> str:
    cleaned = _NAME.sub("_", name)
    return cleaned if re.match(r"[a-zA-Z_:]", cleaned) else f"_{cleaned}"


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = [*labels, *extra]
    if not pairs:
        return ""
    return "{" + ",".join(f'{name}="{_label_value(value)}"' for name, value in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


@dataclass
class Series:
    kind: str  # counter | gauge | histogram
    unit: str
    value: float = 0.0
    count: int = 0
    buckets: list[int] = field(default_factory=list)

    def observe(self, amount: float) -> None:
        self.count += 1
        if self.kind == "gauge":
            self.value = amount
            return
        self.value += amount
        if self.kind == "histogram":
            for index, bound in enumerate(BUCKETS[self.unit]):
                if amount <= bound:
                    self.buckets[index] += 1


def kind_of(unit: str) -> str:
    if unit == "Count":
        return "counter"
    return "histogram" if unit in BUCKETS else "gauge"


class MetricsCollector:
    """Aggregates EMF documents per metric name and dimension values."""

    def __init__(self) -> None:
        self._series: dict[str, dict[Labels, Series]] = {}
        self._units: dict[str, str] = {}
        self._lock = threading.Lock()

    def collect(self, document: dict[str, Any]) -> None:
        directives = (document.get("_aws") or {}).get("CloudWatchMetrics") or []
        with self._lock:
            for directive in directives:
                dimension_sets = directive.get("Dimensions") or [[]]
                for definition in directive.get("Metrics") or []:
                    name, unit = str(definition["Name"]), str(definition.get("Unit") or "None")
                    values = document.get(name)
                    amounts = values if isinstance(values, list) else [values]
                    for dimensions in dimension_sets:
                        labels = tuple(sorted((_LABEL.sub("_", d), str(document.get(d, ""))) for d in dimensions))
                        series = self._series_for(name, unit, labels)
                        for amount in amounts:
                            if isinstance(amount, int | float):
                                series.observe(float(amount))

    def _series_for(self, name: str, unit: str, labels: Labels) -> Series:
        unit = self._units.setdefault(name, unit)  # one metric name, one unit (CloudWatch's first)
        by_labels = self._series.setdefault(name, {})
        if labels not in by_labels:
            kind = kind_of(unit)
            by_labels[labels] = Series(kind, unit, buckets=[0] * len(BUCKETS[unit]) if kind == "histogram" else [])
        return by_labels[labels]

    def value(self, name: str, **labels: str) -> float | None:
        """A counter's sum, a gauge's last value or a histogram's count, for tests and the CLI."""
        with self._lock:
            series = self._series.get(name, {}).get(tuple(sorted(labels.items())))
            if series is None:
                return None
            return float(series.count) if series.kind == "histogram" else series.value

    def exposition(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._series):
                unit, exposed = self._units[name], metric_name(name)
                kind = kind_of(unit)
                lines.append(f"# HELP {exposed} {name} ({unit}), from the functions' EMF output")
                lines.append(f"# TYPE {exposed} {kind}")
                for labels, series in sorted(self._series[name].items()):
                    if kind == "histogram":
                        # ``observe`` counts a value in every bucket it fits: the counts are cumulative.
                        for bound, hits in zip(BUCKETS[unit], series.buckets, strict=True):
                            lines.append(f"{exposed}_bucket{_labels(labels, (('le', _number(bound)),))} {hits}")
                        lines.append(f"{exposed}_bucket{_labels(labels, (('le', '+Inf'),))} {series.count}")
                        lines.append(f"{exposed}_sum{_labels(labels)} {_number(series.value)}")
                        lines.append(f"{exposed}_count{_labels(labels)} {series.count}")
                    else:
                        lines.append(f"{exposed}{_labels(labels)} {_number(series.value)}")
        return "\n".join(lines) + "\n"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """ASGI: ``GET /metrics`` (HEAD too); any other method is a 405."""
        allowed = scope.get("method") in ("GET", "HEAD")
        body = self.exposition().encode() if allowed else b'{"error": {"code": "method_not_allowed"}}'
        headers = [
            (b"content-type", CONTENT_TYPE.encode() if allowed else b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if not allowed:
            headers.append((b"allow", b"GET, HEAD"))
        await send({"type": "http.response.start", "status": 200 if allowed else 405, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else body})

    @staticmethod
    def owns(scope: dict[str, Any]) -> bool:
        return scope.get("type") == "http" and scope.get("path") == PATH


class EmfTap(io.TextIOBase):
    """stdout, less the EMF documents: those go to the collector. Lines are assembled per thread
    (``print`` writes the text and the newline separately, and threads print at once)."""

    def __init__(self, stream: TextIO, collector: MetricsCollector) -> None:
        self.stream = stream
        self.collector = collector
        self._pending = threading.local()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        pending = getattr(self._pending, "text", "") + text
        if not pending.startswith('{"_aws"') and '{"_aws"' not in pending:
            self._pending.text = ""
            self.stream.write(pending)
            return len(text)
        *lines, rest = pending.split("\n")
        self._pending.text = rest
        for line in lines:
            if not self._collect(line):
                self.stream.write(line + "\n")
        return len(text)

    def _collect(self, line: str) -> bool:
        if not line.startswith('{"_aws"'):
            return False
        try:
            self.collector.collect(json.loads(line))
        except (ValueError, KeyError, TypeError):
            return False
        return True

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()


_installed: MetricsCollector | None = None
_provider_lock = threading.RLock()


def _serialised(method: Any) -> Any:
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _provider_lock:
            return method(*args, **kwargs)

    return locked


def install() -> MetricsCollector:
    """Collect every function's EMF from now on (once per process). In the cloud each container
    has its own metric set; here all share Powertools' one, so adding and flushing take a lock
    (a value added between another thread's serialise and clear would be lost)."""
    global _installed
    if _installed is None:
        _installed = MetricsCollector()
        sys.stdout = EmfTap(sys.stdout, _installed)
        for name in ("add_metric", "flush_metrics", "add_dimension", "clear_metrics"):
            setattr(AmazonCloudWatchEMFProvider, name, _serialised(getattr(AmazonCloudWatchEMFProvider, name)))
    return _installed
