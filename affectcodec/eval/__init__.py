"""eval (see ARCHITECTURE.md)."""
