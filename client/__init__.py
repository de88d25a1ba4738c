"""The Bookstore client library and the `bookstore` command."""
