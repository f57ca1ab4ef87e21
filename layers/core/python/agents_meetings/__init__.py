"""Agents-Meetings platform core: domain models, services, adapters and the HTTP app factory.

Shipped to every Lambda function as a layer; imported directly by tests and the local runtime.
"""

__version__ = "0.1.0"
