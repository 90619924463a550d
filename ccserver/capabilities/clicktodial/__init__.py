"""Click-to-dial from the desk (customer file, callback, ticket, campaign contact)."""
