"""VM catalog, prices and billing from node-state records."""
