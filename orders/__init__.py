"""The order service: orders, payments and the saga's outcome."""
