"""Outputs: the output folder, tables, maps, the report, the workbook and QGIS styles (they never
compute analyses).
"""
