"""Cold start of every Lambda function: a fresh interpreter that imports and initialises its handler.

For each function of ``infra.catalog.FUNCTIONS`` a new ``python`` process loads
``functions/<folder>/handler.py`` by path (as ``infra.local.functions.load_module`` does, and as
Lambda's runtime does: module body = init) and exits; the wall time of the whole process is the
figure, median of K runs taken round-robin. Same run baselines: ``python -c pass`` (interpreter
alone) and a bare Powertools + pynamodb handler file. The shared layer comes from
``layers/core/python`` on ``PYTHONPATH``, as ``/opt/python`` would on Lambda. A second table
attributes import time (``python -X importtime``) to the packages each function pulls in.

Run: ``python -m bench.cold_start [--runs K]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.environment import guard_process, load_average, subprocess_environment
from bench.timing import NS_PER_MS, format_table, median_ms, sample_count
from infra.local import loopback_guard

DESCRIPTION = "Cold start (interpreter start + import + init) of every Lambda function in a fresh process."
DEFAULT_RUNS = 7
TOP_IMPORTS = 5
TARGET_COLD_START_MS = 400.0
REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = REPO_ROOT / "layers" / "core" / "python"
PLATFORM_PACKAGE = "agents_meetings"

# Loads a handler file by path under a fixed module name, runs its body (Lambda's init) and checks
# that it exports ``handler``; prints how long that took in-process, in microseconds. The stderr
# marker separates interpreter start-up imports from the handler's in ``-X importtime`` output.
# First, outside the in-process timing and before the marker, the loopback guard is loaded by path
# (argv[2]) and installed: an init that reached for AWS would be refused, and the start fail.
INIT_MARKER = "bench-cold-start: handler init begins"
GUARD_PATH = REPO_ROOT / "infra" / "local" / "loopback_guard.py"
LOADER = f"""\
import importlib.util, sys, time
guard_spec = importlib.util.spec_from_file_location("loopback_guard", sys.argv[2])
guard = importlib.util.module_from_spec(guard_spec)
guard_spec.loader.exec_module(guard)
guard.install()
sys.stderr.write("{INIT_MARKER}\\n")
sys.stderr.flush()
started = time.perf_counter_ns()
spec = importlib.util.spec_from_file_location("bench_cold_start_handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = module
spec.loader.exec_module(module)
if not callable(getattr(module, "handler", None)):
    raise SystemExit("no callable handler in " + sys.argv[1])
print((time.perf_counter_ns() - started) // 1000)
"""

BARE_HANDLER = '''\
"""Baseline: the smallest Lambda handler with Powertools Logger/Tracer/Metrics and one pynamodb model."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

logger = Logger()
tracer = Tracer()
metrics = Metrics()


class ItemModel(Model):
    class Meta:
        table_name = "bench-items"
        region = "us-east-1"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(null=True)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    metrics.add_metric(name="Invocations", unit="Count", value=1)
    return {"statusCode": 200, "body": "{}"}
'''

INTERPRETER = "python -c pass (interpreter only)"
BASELINE = "bare powertools+pynamodb handler"


@dataclass
class Target:
    """One thing started cold: a function's handler, the baseline handler, or the bare interpreter."""

    name: str
    command: list[str]
    is_function: bool
    samples_ns: list[int] = field(default_factory=list)
    failure: str | None = None

    @property
    def median_ms(self) -> float:
        return median_ms(self.samples_ns)


@dataclass(frozen=True)
class ImportCost:
    module: str
    importer: str
    self_us: int
    cumulative_us: int


@dataclass(frozen=True)
class ImportProfile:
    """Where one cold start's import time went, from ``-X importtime``."""

    total_import_us: int  # sum of the handler's top-level imports' cumulative time
    init_us: int  # in-process time of the handler body (imports + module-level code)
    offenders: tuple[ImportCost, ...]

    @property
    def non_import_init_us(self) -> int:
        """Handler body time outside imports: create_app, router registration, clients."""
        return max(0, self.init_us - self.total_import_us)


def parse_importtime(stderr: str) -> list[tuple[int, str, int, int]]:
    """``-X importtime`` lines after the init marker as (depth, module, self µs, cumulative µs), in order."""
    entries: list[tuple[int, str, int, int]] = []
    _, marker, after_marker = stderr.partition(INIT_MARKER)
    for line in (after_marker if marker else stderr).splitlines():
        if not line.startswith("import time:"):
            continue
        try:
            self_part, cumulative_part, name_part = line[len("import time:") :].split("|", 2)
            self_us, cumulative_us = int(self_part), int(cumulative_part)
        except ValueError:
            continue  # the header line
        stripped = name_part.lstrip(" ")
        depth = (len(name_part) - len(stripped) - 1) // 2
        entries.append((depth, stripped.strip(), self_us, cumulative_us))
    return entries


def package_boundary_imports(entries: Sequence[tuple[int, str, int, int]]) -> tuple[int, list[ImportCost]]:
    """Third-party imports where they cross into another top-level package, with their importer.

    ``-X importtime`` prints children before their parent, so a module's importer is the next
    entry printed with a smaller depth. Counting an import where it enters a package (fastapi
    from our app module, botocore from aws_xray_sdk) names the dependency and who pulled it in,
    instead of listing the same chain (fastapi, fastapi.applications, fastapi.routing...) five times.
    """
    total_top_level = sum(cumulative for depth, _, _, cumulative in entries if depth == 0)
    importers = ["<handler>"] * len(entries)
    waiting: dict[int, list[int]] = {}  # depth -> entries printed before their importer was
    for index, (depth, module, _, _) in enumerate(entries):
        for child in waiting.pop(depth + 1, []):
            importers[child] = module
        waiting.setdefault(depth, []).append(index)
    costs = [
        ImportCost(module, importer, self_us, cumulative_us)
        for (_, module, self_us, cumulative_us), importer in zip(entries, importers, strict=True)
        if not _is_platform(module) and (importer == "<handler>" or _package(importer) != _package(module))
    ]
    costs.sort(key=lambda cost: cost.cumulative_us, reverse=True)
    return total_top_level, costs


def _package(module: str) -> str:
    return module.split(".", 1)[0]


def _is_platform(module: str) -> bool:
    """Our own layer: its import cost is the sum of what it imports, listed separately."""
    return _package(module) == PLATFORM_PACKAGE


def build_targets(baseline_path: Path) -> list[Target]:
    from infra.catalog import FUNCTIONS

    python = sys.executable
    targets = [
        Target(INTERPRETER, [python, "-c", "pass"], is_function=False),
        Target(BASELINE, [python, "-c", LOADER, str(baseline_path), str(GUARD_PATH)], is_function=False),
    ]
    targets += [
        Target(decl.name, [python, "-c", LOADER, str(decl.handler_path), str(GUARD_PATH)], True) for decl in FUNCTIONS
    ]
    return targets


def run_once(target: Target, env: dict[str, str], cwd: Path) -> None:
    if target.failure is not None:
        return
    started = time.perf_counter_ns()
    completed = subprocess.run(
        target.command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False
    )
    elapsed = time.perf_counter_ns() - started
    if completed.returncode != 0:
        target.failure = completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else "failed"
        return
    refused = [line for line in completed.stderr.splitlines() if loopback_guard.REFUSED in line]
    if refused:  # the init swallowed a refused connection: still a failure
        target.failure = refused[0]
        return
    target.samples_ns.append(elapsed)


def profile_imports(target: Target, env: dict[str, str], cwd: Path) -> ImportProfile | None:
    python, *rest = target.command
    completed = subprocess.run(
        [python, "-X", "importtime", *rest], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0 or not completed.stdout.strip().isdigit():
        return None
    total_import_us, costs = package_boundary_imports(parse_importtime(completed.stderr))
    return ImportProfile(total_import_us, int(completed.stdout.strip()), tuple(costs[:TOP_IMPORTS]))


@dataclass(frozen=True)
class ColdStartResult:
    runs: int
    targets: list[Target]
    profiles: dict[str, ImportProfile | None]

    def target(self, name: str) -> Target:
        return next(target for target in self.targets if target.name == name)

    def functions(self) -> list[Target]:
        return [target for target in self.targets if target.is_function]

    def summary_line(self) -> str:
        measured = [target for target in self.functions() if target.samples_ns]
        if not measured:
            return "cold_start: no function started (see failures above)"
        worst = max(measured, key=lambda target: target.median_ms)
        ratio = worst.median_ms / self.target(BASELINE).median_ms
        return (
            f"cold_start: {worst.median_ms:.0f} ms worst function {worst.name} "
            f"({ratio:.1f}x vs bare powertools+pynamodb handler)"
        )


def measure(runs: int = DEFAULT_RUNS) -> ColdStartResult:
    guard_process()
    env = subprocess_environment({"PYTHONPATH": str(LAYER_DIR)})
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as workdir:
        cwd = Path(workdir)
        baseline_path = cwd / "bare_handler" / "handler.py"
        baseline_path.parent.mkdir()
        baseline_path.write_text(BARE_HANDLER)
        targets = build_targets(baseline_path)
        # One untimed start each: compiles bytecode and fills the page cache, as a deployed package
        # with its .pyc files would be. Then round-robin, so a burst of load hits every target alike.
        for target in targets:
            run_once(target, env, cwd)
            target.samples_ns.clear()
        for _ in range(runs):
            for target in targets:
                run_once(target, env, cwd)
        profiles = {target.name: profile_imports(target, env, cwd) for target in targets if target.name != INTERPRETER}
    return ColdStartResult(runs=runs, targets=targets, profiles=profiles)


def report(result: ColdStartResult) -> str:
    interpreter = result.target(INTERPRETER)
    baseline = result.target(BASELINE)

    def row(target: Target) -> list[str]:
        if target.failure is not None:
            return [target.name, "failed", "", "", "", "", target.failure[:60]]
        samples = sorted(target.samples_ns)
        ratio = target.median_ms / baseline.median_ms if baseline.samples_ns else float("nan")
        verdict = ""
        if target.is_function:
            verdict = "ok" if target.median_ms < TARGET_COLD_START_MS else f"over {TARGET_COLD_START_MS:.0f} ms"
        return [
            target.name,
            f"{target.median_ms:.0f}",
            f"{samples[0] / NS_PER_MS:.0f}",
            f"{samples[-1] / NS_PER_MS:.0f}",
            f"{target.median_ms - interpreter.median_ms:.0f}",
            f"{ratio:.2f}x",
            verdict,
        ]

    print(
        f"cold_start: fresh `{Path(sys.executable).name}` per start (interpreter + import + init), "
        f"median of {result.runs} runs, round-robin; load average {load_average()}"
    )
    headers = ["start", "median ms", "min ms", "max ms", "over interpreter ms", "vs baseline", "target <400 ms"]
    print(format_table(headers, [row(target) for target in result.targets]))

    print()
    print(
        f"cold_start imports: top {TOP_IMPORTS} by cumulative import time (python -X importtime, one run), "
        "counted where an import enters another package"
    )
    import_rows: list[list[str]] = []
    for name, profile in result.profiles.items():
        if profile is None:
            import_rows.append([name, "failed", "", ""])
            continue
        import_rows.append(
            [
                name,
                f"{profile.total_import_us / 1000:.0f}",
                "",
                f"(all imports; init outside imports {profile.non_import_init_us / 1000:.0f} ms)",
            ]
        )
        import_rows += [
            [f"  {cost.module}", f"{cost.cumulative_us / 1000:.1f}", f"{cost.self_us / 1000:.1f}", cost.importer]
            for cost in profile.offenders
        ]
    print(format_table(["function / module", "cumulative ms", "self ms", "imported by"], import_rows))
    summary = result.summary_line()
    print(summary)
    return summary


def run(runs: int = DEFAULT_RUNS) -> str:
    return report(measure(runs=runs))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=DESCRIPTION)
    parser.add_argument("--runs", type=sample_count, default=DEFAULT_RUNS, help="timed starts per function (median)")
    args = parser.parse_args(argv)
    result = measure(runs=args.runs)
    report(result)
    return 1 if any(target.failure for target in result.targets) else 0


if __name__ == "__main__":
    raise SystemExit(main())
