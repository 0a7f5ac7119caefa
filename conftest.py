"""Root pytest configuration: the kit's fixtures are available to every test."""

pytest_plugins = ["puhui.kit.testing"]
