"""Inputs: the standards profile, district.toml and its settings, the layers and plan files, read
and checked once.
"""
