"""Reading results: masking checks, statistics, tables (no torch)."""
