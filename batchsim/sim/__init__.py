"""The discrete-event engine: pool, nodes, Spot, scheduler, metrics, autoscale loop (rooms: see `engine.py`)."""
