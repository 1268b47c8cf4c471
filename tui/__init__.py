"""The Textual app and the `digits` command."""
