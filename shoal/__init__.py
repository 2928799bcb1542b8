"""shoal: lossless compression by a school of small models."""
