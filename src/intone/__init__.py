"""intone: write, lint and train small character-voice fine-tuning datasets."""

__version__ = "0.1.0"
