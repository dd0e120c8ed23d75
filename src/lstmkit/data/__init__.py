"""Data: CSV in, validated and split frames, fitted preprocessing, ragged arrays, padded batches."""
