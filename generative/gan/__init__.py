"""GANs: models, losses, augmentation, the trainer, offline evaluation, generation and benchmarks."""
