"""The MNIST data layer: IDX files, checksums, download, and making a drawing look like MNIST."""

SIDE = 28
"""An MNIST image is SIDE x SIDE pixels; so are the canvas, the network's input and the previews."""
