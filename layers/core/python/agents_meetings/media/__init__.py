"""Media processing with ffmpeg: tool discovery, probing, thumbnails, preview strips, web remux,
segmented transcodes and speech audio extraction. Knows files, not S3, jobs or Lambda."""

from agents_meetings.media.errors import FfmpegFailed, FfmpegNotFound, FfmpegTimedOut, MediaError, UnreadableMedia
from agents_meetings.media.probe import MediaInfo, StreamInfo, probe
from agents_meetings.media.processing import (
    extract_speech_audio,
    is_web_ready,
    join_segments,
    preview_strip,
    remux_for_web,
    thumbnail,
    transcode_segment,
)
from agents_meetings.media.segments import Segment, plan_segments
from agents_meetings.media.tools import MediaTools, find_media_tools

__all__ = [
    "FfmpegFailed",
    "FfmpegNotFound",
    "FfmpegTimedOut",
    "MediaError",
    "MediaInfo",
    "MediaTools",
    "Segment",
    "StreamInfo",
    "UnreadableMedia",
    "extract_speech_audio",
    "find_media_tools",
    "is_web_ready",
    "join_segments",
    "plan_segments",
    "preview_strip",
    "probe",
    "remux_for_web",
    "thumbnail",
    "transcode_segment",
]
