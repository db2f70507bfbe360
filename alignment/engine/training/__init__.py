"""What every trainer needs and none should write twice: whole-state checkpoints with exact resume
(`checkpoints`), device and dtype resolution (`device`), and the run's outputs as job artifacts
(`artifacts`). Used by the critic trainer (`engine/critic/train.py`) and the align trainer
(`engine/align/trainer.py`). torch is imported on first use, so importing this package is cheap.
"""
