"""Roads: the road network as arrays, snapping, routing graphs, the engine and its compiled kernels.
"""
