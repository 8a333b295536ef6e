"""Photos: finding a face, putting it on the training crop, and finding its z (encoder, inversion)."""
