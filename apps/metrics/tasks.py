"""Metrics tasks: thin adapters over apps.metrics.rollups and apps.metrics.funnel."""
