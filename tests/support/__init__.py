"""What the tests share: servers, clients, fixtures-as-functions and the reference implementations they check against.

No test module imports another: whatever two test modules need lives here."""
