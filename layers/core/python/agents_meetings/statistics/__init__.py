"""Per-user meeting statistics (spec 2.2's user_statistics_view), materialised from domain events."""
