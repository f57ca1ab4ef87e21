"""statemachines/recording-pipeline.asl.json: every task retries with backoff, every failure is
caught into MarkFailed, and every task names a task the pipeline has (one source of truth)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from agents_meetings.media.errors import UnreadableMedia
from agents_meetings.recordings.pipeline import ManifestInvalid, RawFileMissing, RecordingNotFound, RecordingPipeline
from agents_meetings.transcription.engines.base import TranscriptionFailedError

from infra.catalog import PIPELINE_PERMANENT_ERRORS, STATE_MACHINES, STATEMACHINES_DIR
from infra.local.provision import render_definition

pytestmark = pytest.mark.unit

DECL = next(m for m in STATE_MACHINES if m.name == "recording-pipeline")
ASL = json.loads(render_definition(DECL.template(), {"PipelineFunctionArn": "arn:fn"}, DECL.definition_file))


def _states(states: dict[str, Any], nested: bool = False) -> Iterator[tuple[str, dict[str, Any], bool]]:
    for name, state in states.items():
        yield name, state, nested
        for branch in state.get("Branches", []):
            yield from _states(branch["States"], True)
        if "Iterator" in state:
            yield from _states(state["Iterator"]["States"], True)


ALL = list(_states(ASL["States"]))


def test_every_task_retries_with_backoff() -> None:
    tasks = [(name, state) for name, state, _ in ALL if state["Type"] == "Task"]
    assert len(tasks) >= 10
    for name, state in tasks:
        catch_all = [r for r in state["Retry"] if r["ErrorEquals"] == ["States.ALL"]]
        assert catch_all, name
        assert catch_all[0]["MaxAttempts"] >= 2 and catch_all[0]["BackoffRate"] > 1, name
        assert state["Retry"][-1] is catch_all[0], f"{name}: States.ALL must be the last retrier"


def test_every_top_level_work_state_is_caught_into_mark_failed() -> None:
    for name, state, nested in ALL:
        if nested or state["Type"] not in {"Task", "Map", "Parallel"} or name == "MarkFailed":
            continue
        assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MarkFailed"}], name
    assert ASL["States"]["MarkFailed"]["Next"] == "Failed"
    assert ASL["States"]["Failed"]["Type"] == "Fail"


def test_maps_fan_out_segments_and_languages_with_a_concurrency_cap() -> None:
    maps = {name: state for name, state, _ in ALL if state["Type"] == "Map"}
    assert maps["TranscodeSegments"]["ItemsPath"] == "$.plan.segments"
    assert maps["Languages"]["ItemsPath"] == "$.job.audio_sources"
    assert all(0 < state["MaxConcurrency"] <= 40 for state in maps.values())
    assert list(maps["Languages"]["Iterator"]["States"]) == ["ExtractAudio", "Transcribe"]


def test_every_task_names_a_pipeline_task() -> None:
    known = set(RecordingPipeline(settings=None).tasks)
    named = {state["Parameters"]["task"] for _, state, _ in ALL if state["Type"] == "Task" and "Parameters" in state}
    # The segment Map passes plan's items as they are: each item names transcode_segment.
    assert named | {"transcode_segment"} == known
    assert all(state["Resource"] == "arn:fn" for _, state, _ in ALL if state["Type"] == "Task")


def test_permanent_errors_are_not_retried() -> None:
    claim = ASL["States"]["Claim"]["Retry"][0]
    assert claim["MaxAttempts"] == 0
    assert {"ManifestInvalid", "RawFileMissing", "UnreadableMedia"} <= set(claim["ErrorEquals"])


def test_the_sample_s3_event_matches_the_trigger_and_names_a_recording() -> None:
    from agents_meetings.recordings.pipeline import recording_id_from_key

    from infra.catalog import REPO_ROOT

    event = json.loads((REPO_ROOT / "events" / "s3-object-created-manifest.json").read_text())
    assert DECL.trigger is not None
    pattern = DECL.trigger.pattern(event["detail"]["bucket"]["name"])
    assert event["source"] in pattern["source"] and event["detail-type"] in pattern["detail-type"]  # type: ignore[operator]
    key = event["detail"]["object"]["key"]
    assert DECL.trigger.matches(key)
    assert not DECL.trigger.matches("recordings/x/raw/track.mp4")
    assert not DECL.trigger.matches("exports/x/manifest.json")
    assert recording_id_from_key(key) == "0f8e2c1a-3b4d-4e5f-8a9b-1c2d3e4f5a6b"
    # The paths the ASL reads from its input exist in the event.
    claim = ASL["States"]["Claim"]["Parameters"]
    assert (claim["bucket.$"], claim["key.$"]) == ("$.detail.bucket.name", "$.detail.object.key")


def test_the_non_retryable_errors_are_declared_once_and_are_the_same_in_every_task() -> None:
    # The committed ASL names no error but States.ALL and the declared list's placeholder.
    committed = json.loads((STATEMACHINES_DIR / DECL.definition_file).read_text())
    spelled = {
        tuple(rule["ErrorEquals"]) for _, state, _ in _states(committed["States"]) for rule in state.get("Retry", [])
    }
    assert spelled == {("States.ALL",), ("${NonRetryableErrors}",)}
    # Loaded (CDK and the local runtime alike), every task but MarkFailed retries them never.
    permanent = [ManifestInvalid, RecordingNotFound, RawFileMissing, UnreadableMedia, TranscriptionFailedError]
    assert list(PIPELINE_PERMANENT_ERRORS) == [error.__name__ for error in permanent]
    for name, state, _ in ALL:
        if state["Type"] == "Task" and name != "MarkFailed":
            assert state["Retry"][0] == {"ErrorEquals": list(PIPELINE_PERMANENT_ERRORS), "MaxAttempts": 0}, name
    assert ASL["States"]["MarkFailed"]["Retry"][0]["ErrorEquals"] == ["States.ALL"]
