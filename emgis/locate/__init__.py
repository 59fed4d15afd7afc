"""Location models on candidate x village minutes: covering, p-median, p-center, robust, budgeted (no geometry)."""
