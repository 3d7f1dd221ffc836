"""data (see ARCHITECTURE.md)."""
