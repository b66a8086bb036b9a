"""Published reference tables (copied from the papers) shown beside our numbers."""
