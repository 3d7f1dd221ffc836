"""analysis (see ARCHITECTURE.md)."""
