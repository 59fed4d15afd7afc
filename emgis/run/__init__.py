"""Whole jobs: a district's run and a province's batch with its roll-up."""
