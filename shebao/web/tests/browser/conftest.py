"""The browser fixtures are registered for the whole suite by the root conftest
(`pytest_plugins`), so tests of every app can use them; see fixtures.py."""
