"""Powertools Logger, Tracer and Metrics shared by every function (service name from the env)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "AgentsMeetings")

logger = Logger(log_uncaught_exceptions=True)
tracer = Tracer()
metrics = Metrics()
