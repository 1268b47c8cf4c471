"""A NumPy neural network for handwritten digits: the original, the engine, training, saving.

Import what you need from its modules; the package itself imports nothing, so that
`import network.errors` does not load NumPy, SciPy and every other module:

    network.faithful    the original app's network, one record at a time
    network.mlp         the engine: MLP, layer stacks of any depth in float32 mini-batches
    network.activations, network.losses, network.inputs, network.optim   its parts
    network.convnet     ConvNet: a layer stack with convolutions, trained by the same loop
    network.layers, network.conv, network.pooling   its layers (dense, activations, dropout,
                        flatten; Conv2D as image-to-columns + one GEMM; 2x2 max-pooling)
    network.model       what the app needs of any network, and which kind an architecture is
    network.config      TrainConfig;  network.presets  PRESETS, preset_config
    network.augment     on-the-fly augmentation of training batches
    network.train       the training loop (reports through a callback)
    network.evaluate    accuracy, confusion matrix, per-digit scores
    network.report      progress throttling and summaries shared by the CLI and the app
    network.store       model files (save atomically, load without unpickling)
    network.registry    the models folder and the active model
    network.errors      ModelError
"""
