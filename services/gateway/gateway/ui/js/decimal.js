// Money strings from the API ("1180.00") as whole paise in BigInt: compared and subtracted exactly, never
// through a float.

/** "1180.5" → 118050n; a leading minus is kept. */
export function toMinor(amount) {
  const text = String(amount ?? "0").trim();
  const negative = text.startsWith("-");
  const [whole, fraction = ""] = text.replace(/^[-+]/, "").split(".");
  const minor = BigInt(whole || "0") * 100n + BigInt((fraction + "00").slice(0, 2));
  return negative ? -minor : minor;
}

/** 118050n → "1180.50". */
export function fromMinor(minor) {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(3, "0");
  return `${negative ? "-" : ""}${digits.slice(0, -2)}.${digits.slice(-2)}`;
}
