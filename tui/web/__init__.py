"""The app in a browser: `digits serve` (textual-serve)."""
