"""The platform's CloudFormation as the tests read it: the parent stack merged with its nested stacks.

``PlatformStack.parts`` (infra/stacks.py) are nested stacks; their resources are checked as if
they were in the parent, so that an assertion does not depend on where a concern lives:

- a nested stack's parameter (``{"Ref": "referenceto...Ref"}``) is replaced by what the parent
  passes for it (``{"Ref": "<parent logical id>"}``, ``{"Fn::GetAtt": [...]}``);
- a parent's reference to a nested output (``{"Fn::GetAtt": ["<nested stack>", "Outputs.X"]}``) is
  replaced by that output's value, in the nested stack's own logical ids.

Logical ids are unique across the merged view (checked). ``stack_of[logical_id]`` names the stack a
resource is in (``""`` for the parent). The observability nested stack (its own alarms and
dashboards, read by tests/infra/test_observability.py) is not merged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

Resource = dict[str, Any]


def _substitute(value: Any, refs: Mapping[str, Any], outputs: Mapping[tuple[str, str], Any]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and "Ref" in value and isinstance(value["Ref"], str) and value["Ref"] in refs:
            return refs[value["Ref"]]
        if len(value) == 1 and "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            if isinstance(target, list) and len(target) == 2 and (target[0], target[1]) in outputs:
                return outputs[(target[0], target[1])]
        return {key: _substitute(item, refs, outputs) for key, item in value.items()}
    if isinstance(value, list):
        return [_substitute(item, refs, outputs) for item in value]
    return value


@dataclass(frozen=True)
class MergedTemplates:
    parent: dict[str, Any]
    # Each nested stack's template as synthesized (parameters unresolved), by name: every nested
    # stack of the app's platform stack, the observability one included ("Observability/Monitoring").
    nested: dict[str, dict[str, Any]]
    resources: dict[str, Resource]
    outputs: dict[str, Any]
    stack_of: dict[str, str]
    _outputs: dict[tuple[str, str], Any]

    def resolve(self, value: Any) -> Any:
        """A parent-side expression (e.g. ``stack.resolve(token)``) in the merged view's ids."""
        return _substitute(value, {}, self._outputs)

    def template(self) -> Template:
        return Template.from_json({"Resources": self.resources, "Outputs": self.outputs})


def all_nested_stacks(stack: cdk.Stack) -> dict[str, cdk.NestedStack]:
    """Every nested stack below ``stack``, by construct path relative to it (``Api``, ``Observability/Monitoring``)."""
    prefix = f"{stack.node.path}/"
    return {
        node.node.path.removeprefix(prefix): node for node in stack.node.find_all() if isinstance(node, cdk.NestedStack)
    }


def merge(stack: cdk.Stack, parts: Mapping[str, cdk.NestedStack]) -> MergedTemplates:
    """The parent (synthesized already) merged with ``parts``, its directly nested stacks."""
    parent = Template.from_stack(stack).to_json()
    nested = {name: Template.from_stack(child).to_json() for name, child in all_nested_stacks(stack).items()}
    raw_outputs: dict[tuple[str, str], Any] = {}
    parameters: dict[str, dict[str, Any]] = {}
    resource_ids: dict[str, str] = {}
    for name, part in parts.items():
        assert part.nested_stack_parent is stack, f"{name} must be nested directly in {stack.node.id}"
        resource_id = stack.get_logical_id(part.nested_stack_resource)  # type: ignore[arg-type]
        resource_ids[name] = resource_id
        parameters[name] = parent["Resources"][resource_id]["Properties"].get("Parameters", {})
        for output, body in nested[name].get("Outputs", {}).items():
            raw_outputs[(resource_id, f"Outputs.{output}")] = _substitute(body["Value"], parameters[name], {})
    # An output may pass on a sibling's (through the parent): resolve until nothing changes.
    outputs = raw_outputs
    for _ in range(len(parts) + 1):
        resolved = {key: _substitute(value, {}, outputs) for key, value in outputs.items()}
        if resolved == outputs:
            break
        outputs = resolved
    resources: dict[str, Resource] = {}
    stack_of: dict[str, str] = {}
    for logical_id, resource in parent["Resources"].items():
        resources[logical_id] = _substitute(resource, {}, outputs)
        stack_of[logical_id] = ""
    for name in parts:
        refs = {param: _substitute(value, {}, outputs) for param, value in parameters[name].items()}
        for logical_id, resource in nested[name]["Resources"].items():
            assert logical_id not in resources, f"{logical_id} is in both {stack_of[logical_id]!r} and {name!r}"
            resources[logical_id] = _substitute(resource, refs, outputs)
            stack_of[logical_id] = name
    return MergedTemplates(
        parent=parent,
        nested=nested,
        resources=resources,
        outputs=_substitute(parent.get("Outputs", {}), {}, outputs),
        stack_of=stack_of,
        _outputs=outputs,
    )


def platform_resources(stack: Any) -> dict[str, Resource]:
    """The merged resources of a synthesized ``PlatformStack`` (its ``parts``)."""
    return merge(stack, stack.parts).resources


def template_files(outdir: Path, stack: cdk.Stack) -> dict[str, Path]:
    """The parent's and every nested stack's template file in ``outdir``, by stack name ("" = parent)."""
    files = {"": outdir / f"{stack.artifact_id}.template.json"}
    for name, nested_stack in all_nested_stacks(stack).items():
        files[name] = outdir / nested_stack.template_file
    for path in files.values():
        assert path.is_file(), path
        json.loads(path.read_text())
    return files
