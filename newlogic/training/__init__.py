"""Training: options, the loop, checkpoints, recipes, losses, negatives, augmentation."""
