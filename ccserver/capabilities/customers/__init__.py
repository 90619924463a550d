"""Customers: the CTI customer file (identity, phones, history, tickets) and CSV import."""
