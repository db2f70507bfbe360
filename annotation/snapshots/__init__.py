"""LiFT-HRA snapshots: numbered, immutable exports (export.py, card.py with the Hub's YAML header,
writers.py), the public conversation format (hra_format.py) and how its questions are read and phrased
(questions.py), and imports of that format and of our own snapshots (importer.py reads and checks,
import_writes.py writes in bulk).
"""
