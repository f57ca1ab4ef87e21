"""Infrastructure tests: jsii must use the bundled Node before anything imports aws_cdk."""

from infra.app import use_bundled_node

use_bundled_node()
