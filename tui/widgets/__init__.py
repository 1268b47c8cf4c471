"""Reusable widgets: the paint grid, probability bars, small image previews, plots."""
