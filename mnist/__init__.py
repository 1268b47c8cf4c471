"""The MNIST data layer: IDX files, checksums, download, and making a drawing look like MNIST."""
