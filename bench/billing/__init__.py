"""Orders per second of the billing service through the gateway, with one and two billing processes."""
