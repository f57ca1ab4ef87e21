"""Lambda: every task of the recording post-processing state machine (``event["task"]`` names it)."""

from typing import Any

from agents_meetings.observability import adopt_correlation, logger, tracer
from agents_meetings.recordings.pipeline import RecordingPipeline, task_correlation
from agents_meetings.tables import bind_tables

bind_tables()
pipeline = RecordingPipeline()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    adopt_correlation(None, fallback=task_correlation(event))
    return pipeline.run(event)
