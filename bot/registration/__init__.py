"""Loan-interest registrations: reading the fields, the record kept, the monthly list, data rights."""
