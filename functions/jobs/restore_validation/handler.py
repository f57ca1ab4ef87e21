"""Lambda (EventBridge, AWS Backup "Restore Job State Change" COMPLETED of the restore testing plan):
check the restored table against its source and report the verdict (agents_meetings/backups.py)."""

from typing import Any

from agents_meetings.backups import validate_restore_job
from agents_meetings.observability import logger, metrics, observed


@observed
def handler(event: dict[str, Any], context: Any) -> dict[str, str]:
    restore_job_id = str((event.get("detail") or {})["restoreJobId"])
    verdict = validate_restore_job(restore_job_id)
    if verdict is None:
        logger.info("not a table restore: nothing to validate", extra={"restore_job_id": restore_job_id})
        return {"restore_job_id": restore_job_id, "status": "SKIPPED"}
    # The alarm on RestoreValidationFailed (infra/constructs/backup.py) pages on a failed or slow restore.
    metrics.add_metric(name="RestoreValidationFailed", unit="Count", value=0 if verdict.passed else 1)
    if not verdict.passed:
        logger.error("restore test failed", extra={"restore_job_id": restore_job_id, "verdict": verdict.message})
    else:
        logger.info("restore test passed", extra={"restore_job_id": restore_job_id, "verdict": verdict.message})
    return {"restore_job_id": restore_job_id, "status": verdict.status, "message": verdict.message}
