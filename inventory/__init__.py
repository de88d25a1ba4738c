"""The inventory service: the book catalogue and the stock the order saga reserves."""
