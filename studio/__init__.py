"""DCGAN Studio's handlers, one module a tab; app.py lays them out and wires them."""
