"""A NumPy neural network for handwritten digits: the original, the engine, training, saving."""
