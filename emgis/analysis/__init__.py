"""Analyses on the engine: coverage, zones, scenarios, siting, compliance, warning reach, what-if
data.
"""
