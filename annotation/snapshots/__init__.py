"""LiFT-HRA snapshots: numbered, immutable exports (export.py, card.py, archive.py), the public
conversation format (hra_format.py), and imports of that format and of our own snapshots (importer.py).
"""
