"""The outer layer of rate limiting (spec 2.3): a regional WAF web ACL with a rate-based rule per
client IP, associated with the REST API stage. The stage's throttle caps the whole API; the
functions' DynamoDB counters enforce the per-tier and per-route limits inside it.
"""

from __future__ import annotations

from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Requests per client IP per evaluation window before WAF blocks that IP (well above the highest
# per-user tier, so that only floods are stopped here; WAF's minimum is 10).
WAF_RATE_LIMIT_PER_IP = 2000
WAF_EVALUATION_WINDOW_SECONDS = 300
METRIC_PREFIX = "agents-meetings-api"


class ApiFirewall(Construct):
    """``web_acl`` (rate-based rule ``per-ip-rate``) associated with ``stage``."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: apigateway.Stage) -> None:
        super().__init__(scope, construct_id)

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=f"{METRIC_PREFIX}-{name}", sampled_requests_enabled=True
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="Agents-Meetings API: per-IP flood protection in front of the per-tier limits",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("web-acl"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="per-ip-rate",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(
                        block=wafv2.CfnWebACL.BlockActionProperty(
                            custom_response=wafv2.CfnWebACL.CustomResponseProperty(
                                response_code=429,
                                response_headers=[
                                    wafv2.CfnWebACL.CustomHTTPHeaderProperty(
                                        name="Retry-After", value=str(WAF_EVALUATION_WINDOW_SECONDS)
                                    )
                                ],
                            )
                        )
                    ),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=WAF_RATE_LIMIT_PER_IP,
                            evaluation_window_sec=WAF_EVALUATION_WINDOW_SECONDS,
                        )
                    ),
                    visibility_config=visibility("per-ip-rate"),
                )
            ],
        )
        self.association = wafv2.CfnWebACLAssociation(
            self, "StageAssociation", resource_arn=stage.stage_arn, web_acl_arn=self.web_acl.attr_arn
        )
        self.association.node.add_dependency(stage)
