"""Files between stages: atomic writes, output paths, provenance, the model directory."""
