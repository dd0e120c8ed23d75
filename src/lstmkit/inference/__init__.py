"""Use a finished run: load its checkpoint and preprocessing, predict on new CSVs, export."""
