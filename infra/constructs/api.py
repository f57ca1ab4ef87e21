"""The REST API: one API Gateway resource tree built from every API function's route prefixes.

Each prefix in ``FunctionDecl.routes`` gets ``ANY`` on itself and on a ``{proxy+}`` child, both
proxied to the function's ``live`` alias, whose FastAPI app does the routing below the prefix.

Throttling: the stage's limit (``THROTTLE_RATE_PER_SECOND`` / ``THROTTLE_BURST``) caps the whole API;
a function's ``throttle`` (infra/catalog.py) sets a lower one on each of its prefixes' methods.

API Gateway may invoke each function's alias through one permission covering the whole API
(``execute-api:<api-id>/*/*/*``); the construct lives in its own nested stack (infra/stacks.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.catalog import FunctionDecl, api_functions
from infra.constructs import acknowledge_nag

# The load goal (1,000 concurrent users, ~100 req/s with think time, issue 14) with 3x headroom for
# peaks; the per-IP WAF rule and the per-tier limiter inside the functions stop abuse well below it.
THROTTLE_RATE_PER_SECOND = 300
THROTTLE_BURST = 600
CORS_ALLOWED_HEADERS = ["Authorization", "Content-Type"]

API_FINDINGS = {
    "APIG2": "Requests are validated by each function's pydantic models, which answer with the platform's "
    "one JSON error shape; an API Gateway validator would need a second copy of every schema and would "
    "answer with a different body.",
    "APIG3": "The stage is associated with a WAF web ACL (infra/constructs/waf.py, a per-IP rate-based rule) "
    "by a separate CfnWebACLAssociation, which the rule does not see from the stage itself.",
    "APIG4": "Authorization happens in the functions: protected routes verify the platform's JWT (signature, "
    "issuer, audience, expiry, revocation deny list, role) in one FastAPI dependency; public routes (login, "
    "register, health, docs) share prefixes with protected ones, and CORS preflight (OPTIONS) must be "
    "unauthenticated.",
    "COG4": "The platform issues its own JWTs (users, roles and approval state live in DynamoDB, per the "
    "spec); there is no Cognito user pool to authorize against. See APIG4 for where tokens are checked.",
    "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]": "The "
    "account-level role API Gateway needs to write execution and access logs; AWS documents this managed "
    "policy for it and it only grants CloudWatch Logs writes.",
}


def route_throttles(decls: list[FunctionDecl]) -> dict[str, apigateway.MethodDeploymentOptions]:
    """Stage method settings (``/<path>/<method>``) for every route of a function with a ``throttle``."""
    options: dict[str, apigateway.MethodDeploymentOptions] = {}
    for decl in decls:
        if decl.throttle is None:
            continue
        rate, burst = decl.throttle
        if rate > THROTTLE_RATE_PER_SECOND or burst > THROTTLE_BURST:
            raise ValueError(f"function {decl.name!r}: its throttle {decl.throttle} exceeds the stage's")
        for prefix in decl.routes:
            for path in (prefix, f"{prefix}/{{proxy+}}"):
                options[f"{path}/*"] = apigateway.MethodDeploymentOptions(
                    throttling_rate_limit=rate,
                    throttling_burst_limit=burst,
                    # Method settings replace the stage's for these methods: keep metrics and logging.
                    metrics_enabled=True,
                    logging_level=apigateway.MethodLoggingLevel.ERROR,
                    data_trace_enabled=False,
                )
    return options


def route_segments(prefix: str) -> list[str]:
    """``"/api/v1/users"`` -> ``["api", "v1", "users"]``; rejects prefixes API Gateway would not take."""
    if not prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise ValueError(f"route prefix {prefix!r} must look like '/a/b' (leading slash, no trailing one)")
    segments = prefix[1:].split("/")
    if any("{" in segment or "}" in segment for segment in segments):
        raise ValueError(f"route prefix {prefix!r} must be literal; the function routes below it")
    return segments


class PlatformApi(Construct):
    """``rest_api`` with a stage named ``stage_name``; ``mounted[prefix]`` = the function serving it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        stage_name: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        access_logs = logs.LogGroup(
            self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=removal_policy
        )
        self.rest_api = apigateway.RestApi(
            self,
            "RestApi",
            rest_api_name="agents-meetings",
            description="Agents-Meetings platform API (/api/v1)",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            # API Gateway writes execution and access logs through an account-level role; the
            # stage's logging settings are rejected without it.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=removal_policy,
            deploy_options=apigateway.StageOptions(
                stage_name=stage_name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                # Request bodies may hold passwords and tokens: never log them.
                data_trace_enabled=False,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                throttling_rate_limit=THROTTLE_RATE_PER_SECOND,
                throttling_burst_limit=THROTTLE_BURST,
                method_options=route_throttles(api_functions()),
            ),
            default_cors_preflight_options=apigateway.CorsOptions(
                allow_origins=apigateway.Cors.ALL_ORIGINS,
                allow_methods=apigateway.Cors.ALL_METHODS,
                allow_headers=CORS_ALLOWED_HEADERS,
            ),
        )
        # The stack exports the URL once, as ApiUrl; RestApi's own "Endpoint" output would repeat it.
        self.rest_api.node.try_remove_child("Endpoint")
        acknowledge_nag(self.rest_api, API_FINDINGS)
        self.mounted: dict[str, str] = {}
        for decl in api_functions():
            # One Lambda permission per function (on its alias), for this API's methods on any path
            # and stage (``arn:...:execute-api:<region>:<account>:<api-id>/*/*/*``), created here
            # with the API rather than one (or two, with test-invoke) per method in the function's
            # stack: 24 instead of 100+, and none of them outside the API's nested stack.
            integration = apigateway.LambdaIntegration(functions[decl.name], scope_permission_to_method=False)
            for prefix in decl.routes:
                self._mount(prefix, decl.name, integration)

    def _mount(self, prefix: str, function_name: str, integration: apigateway.LambdaIntegration) -> None:
        if prefix in self.mounted:
            raise ValueError(f"route prefix {prefix} is declared by both {self.mounted[prefix]} and {function_name}")
        resource: apigateway.IResource = self.rest_api.root
        for segment in route_segments(prefix):
            # Reuse what another prefix already created ("/api", "/api/v1", or a whole parent prefix:
            # a prefix nested in another's just adds its own, more specific, methods).
            resource = resource.get_resource(segment) or resource.add_resource(segment)
        resource.add_method("ANY", integration)
        resource.add_resource("{proxy+}").add_method("ANY", integration)
        self.mounted[prefix] = function_name
