"""Trainyard training kit: the app's models, augmentations and training loop in PyTorch."""
KIT_FORMAT = 1
