"""ganbench reference GANs: networks, losses, recipes and the one training loop (models/train.py)."""
