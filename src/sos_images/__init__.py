"""Shared logic of the SOS App image tooling: catalog -> plans -> docker -> reports.

Nothing here imports Invoke or Nox; tasks.py and noxfile.py are thin front ends over this package.
"""
