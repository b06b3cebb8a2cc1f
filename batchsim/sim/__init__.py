"""The discrete-event engine (simpy): pool, nodes, spot, scheduler, metrics, autoscale loop."""
