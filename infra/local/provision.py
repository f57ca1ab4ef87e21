"""Creates, in the embedded AWS, every resource the catalogue declares (what CDK creates in the cloud)."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from agents_meetings.settings import Settings
from agents_meetings.tables import create_tables

from infra.catalog import (
    EVENT_RULES,
    FUNCTIONS,
    QUEUES,
    STATE_MACHINES,
    STATEMACHINES_DIR,
    EventRuleDecl,
    QueueDecl,
    StateMachineDecl,
)

ACCOUNT_ID = "123456789012"
LAMBDA_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/agents-meetings-local-lambda"


@dataclass(frozen=True)
class MachineTrigger:
    """Local delivery of a state machine's trigger: default-bus rule -> queue -> start_execution."""

    machine: StateMachineDecl
    state_machine_arn: str
    queue_url: str
    dlq_url: str


@dataclass(frozen=True)
class RuleQueue:
    # A rule's queue, or a QueueDecl's (functions send to it directly); both name their worker.
    rule: EventRuleDecl | QueueDecl
    queue_url: str
    queue_arn: str
    dlq_url: str


def queue_name(rule: EventRuleDecl | QueueDecl) -> str:
    return f"agents-meetings-{rule.name}"


def _placeholder_zip() -> bytes:
    # The code never runs: invocations are routed to the real handler in this process.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    raise RuntimeError('not routed')\n")
    return buffer.getvalue()


class Provisioner:
    def __init__(self, settings: Settings, endpoint_url: str):
        self.settings = settings.model_copy(update={"aws_endpoint_url": endpoint_url})
        kwargs: dict[str, Any] = {"region_name": settings.aws_region, "endpoint_url": endpoint_url}
        self.events = boto3.client("events", **kwargs)
        self.sqs = boto3.client("sqs", **kwargs)
        self.lambdas = boto3.client("lambda", **kwargs)
        self.states = boto3.client("stepfunctions", **kwargs)
        self.iam = boto3.client("iam", **kwargs)
        self.kms = boto3.client("kms", **kwargs)
        self.ses = boto3.client("ses", **kwargs)
        self.s3 = boto3.client("s3", **kwargs)
        # State machines started by S3 objects (filled by provision; see machine_trigger).
        self.triggers: list[MachineTrigger] = []

    def provision(self) -> list[RuleQueue]:
        create_tables(self.settings)
        self.recordings_bucket()
        self.data_key()
        self.email_sender()
        self.materials_bucket()
        self._bus()
        queues = [self.rule_queue(rule) for rule in EVENT_RULES]
        queues += [self.work_queue(decl) for decl in QUEUES]
        for decl in FUNCTIONS:
            self.function(decl.name)
        for machine in STATE_MACHINES:
            arn = self.state_machine(machine)
            if machine.trigger is not None:
                self.triggers.append(self.machine_trigger(machine, arn))
        return queues

    def recordings_bucket(self) -> str:
        """The recordings bucket (S3_BUCKET_NAME), created if missing."""
        bucket = self.settings.s3_bucket_name
        existing = {item["Name"] for item in self.s3.list_buckets().get("Buckets", [])}
        if bucket not in existing:
            self.s3.create_bucket(Bucket=bucket)
        return bucket

    def machine_trigger(self, machine: StateMachineDecl, state_machine_arn: str) -> MachineTrigger:
        """S3 Object Created -> default bus -> rule -> queue (-> DLQ), polled by the event router, which
        starts the execution: moto's EventBridge cannot target Step Functions itself."""
        assert machine.trigger is not None
        bucket = self.recordings_bucket()
        name = f"agents-meetings-start-{machine.name}"
        dlq_url = self.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = self.sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": "30",
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
            },
        )["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name=f"start-{machine.name}", EventPattern=json.dumps(machine.trigger.pattern(bucket, wildcard=False))
        )
        self.events.put_targets(Rule=f"start-{machine.name}", Targets=[{"Id": "queue", "Arn": queue_arn}])
        return MachineTrigger(machine, state_machine_arn, queue_url, dlq_url)

    def enable_object_events(self) -> None:
        """Turn on the recordings bucket's EventBridge notifications. Called after persisted data is
        replayed, so replayed objects do not start their state machines a second time."""
        if not self.triggers:
            return
        bucket = self.recordings_bucket()
        current = self.s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration={**current, "EventBridgeConfiguration": {}}
        )

    def materials_bucket(self) -> None:
        """The materials bucket (spec 1.3 uploads), created if missing."""
        existing = {bucket["Name"] for bucket in self.s3.list_buckets().get("Buckets", [])}
        if self.settings.materials_bucket_name not in existing:
            self.s3.create_bucket(Bucket=self.settings.materials_bucket_name)

    def email_sender(self) -> None:
        """SES (and the embedded AWS) refuses to send from an unverified identity: verify EMAIL_FROM."""
        self.ses.verify_email_identity(EmailAddress=self.settings.email_from)

    def data_key(self) -> str:
        """The KMS key that seals secrets at rest (2FA), under the alias DATA_KEY_ID names; its ARN."""
        alias = self.settings.data_key_id
        if not alias.startswith("alias/"):
            return alias  # a key ARN or id given explicitly: used as is
        try:
            return str(self.kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"])
        except self.kms.exceptions.NotFoundException:
            pass
        key = self.kms.create_key(Description="Agents-Meetings local data key (secrets at rest)")["KeyMetadata"]
        self.kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        return str(key["Arn"])

    def _bus(self) -> None:
        existing = {bus["Name"] for bus in self.events.list_event_buses()["EventBuses"]}
        if self.settings.event_bus_name not in existing:
            self.events.create_event_bus(Name=self.settings.event_bus_name)

    def rule_queue(self, rule: EventRuleDecl, *, visibility_timeout: int = 5) -> RuleQueue:
        """Rule -> queue (-> DLQ after max_receive_count): the same topology CDK builds."""
        dlq_url = self.sqs.create_queue(QueueName=f"{queue_name(rule)}-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(rule.max_receive_count)})
        queue_url = self.sqs.create_queue(
            QueueName=queue_name(rule),
            Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
        )["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        self.events.put_rule(
            Name=rule.name, EventBusName=self.settings.event_bus_name, EventPattern=json.dumps(rule.pattern())
        )
        self.events.put_targets(
            Rule=rule.name, EventBusName=self.settings.event_bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
        )
        return RuleQueue(rule=rule, queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url)

    def work_queue(self, decl: QueueDecl, *, visibility_timeout: int = 5) -> RuleQueue:
        """A queue functions send to (-> DLQ after max_receive_count); its URL goes to the
        environment variable the senders read (set before any handler is loaded)."""
        import os

        from agents_meetings.settings import reset_settings

        dlq_url = self.sqs.create_queue(QueueName=f"{queue_name(decl)}-dlq")["QueueUrl"]
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(decl.max_receive_count)})
        queue_url = self.sqs.create_queue(
            QueueName=queue_name(decl),
            Attributes={"VisibilityTimeout": str(visibility_timeout), "RedrivePolicy": redrive},
        )["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        os.environ[decl.url_variable] = queue_url
        reset_settings()
        return RuleQueue(rule=decl, queue_url=queue_url, queue_arn=queue_arn, dlq_url=dlq_url)

    def _lambda_role(self) -> None:
        with contextlib.suppress(self.iam.exceptions.EntityAlreadyExistsException):
            self.iam.create_role(
                RoleName="agents-meetings-local-lambda",
                AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
            )

    def function(self, name: str, *, timeout: int = 60) -> str:
        """Register a function with the embedded Lambda (for Step Functions); returns its ARN."""
        try:
            return str(self.lambdas.get_function(FunctionName=name)["Configuration"]["FunctionArn"])
        except self.lambdas.exceptions.ResourceNotFoundException:
            pass
        self._lambda_role()
        created = self.lambdas.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=LAMBDA_ROLE,
            Handler="handler.handler",
            Code={"ZipFile": _placeholder_zip()},
            Timeout=timeout,
        )
        return str(created["FunctionArn"])

    def state_machine(self, machine: StateMachineDecl, definitions_dir: Path = STATEMACHINES_DIR) -> str:
        """Create or update a state machine from its ASL file, substituting function ARNs like CDK does."""
        definition = render_definition(
            machine.template(definitions_dir),
            {key: self.function(fn) for key, fn in machine.functions.items()},
            machine.definition_file,
        )
        arn = f"arn:aws:states:{self.settings.aws_region}:{ACCOUNT_ID}:stateMachine:{machine.name}"
        try:
            self.states.describe_state_machine(stateMachineArn=arn)
            self.states.update_state_machine(stateMachineArn=arn, definition=definition)
        except self.states.exceptions.StateMachineDoesNotExist:
            arn = self.states.create_state_machine(name=machine.name, definition=definition, roleArn=LAMBDA_ROLE)[
                "stateMachineArn"
            ]
        return arn


def load_definition(path: Path, substitutions: dict[str, str]) -> str:
    """An ASL file's text with ``${Name}`` placeholders replaced (CDK's definition_substitutions)."""
    return render_definition(path.read_text(), substitutions, path.name)


def render_definition(text: str, substitutions: dict[str, str], name: str) -> str:
    """ASL text (``StateMachineDecl.template``) with ``${Name}`` placeholders replaced."""
    for key, value in substitutions.items():
        text = text.replace("${" + key + "}", value)
    if "${" in text:
        raise ValueError(f"{name}: unresolved placeholder in {text[text.index('${') :][:40]}")
    json.loads(text)  # fail early on a malformed definition
    return text
