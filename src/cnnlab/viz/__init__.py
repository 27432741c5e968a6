"""Figure builders and font setup. Importing this package does not import matplotlib."""
