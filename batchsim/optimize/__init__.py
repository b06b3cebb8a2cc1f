"""Formula templates, parameter search and sweeps."""
