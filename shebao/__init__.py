"""shebao: the business management system of a social security card issuing area."""
