"""Plots and cost reports."""
