"""How an email address is compared: the one form users are stored, looked up and throttled by."""


def normalised_email(email: str) -> str:
    return email.strip().lower()
