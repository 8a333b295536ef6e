"""Training: the loop, its options, batches, resume, export and model cards, torchrun, augmentation, live runs."""
