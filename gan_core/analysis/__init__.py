"""Looking at a GAN: D as teacher, classifiers, metrics, the training dashboard, the real-or-fake game."""
