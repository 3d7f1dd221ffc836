"""train (see ARCHITECTURE.md)."""
