"""lm (see ARCHITECTURE.md)."""
