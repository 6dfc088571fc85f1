"""The outputs of a micro-batch, one class per output, all of the shape in base.py."""
