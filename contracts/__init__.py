"""Wire contracts: the .proto sources of every service and event, and their generated code.

Regenerate with ``python -m contracts.generate``; never edit generated files by hand.
"""
