"""Images in and out: training image sources, checked uploads, grids, colour maps and video."""
