"""Plain torch networks: no Lightning, no Hydra, so they run in raw loops and export to ONNX."""
