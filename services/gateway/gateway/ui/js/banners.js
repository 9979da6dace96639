// Messages shown above every page of a signed-in user (low balance, a 2FA deadline, …).
// Each source in js/banners/ exports `default async (me) => Node | null`; a source
// that fails shows nothing rather than breaking the page it sits above.

import lowBalance from "./banners/low_balance.js";
import totpDeadline from "./banners/totp_deadline.js";
import { fill } from "./ui.js";

const SOURCES = [totpDeadline, lowBalance];

/** Fills `slot` with the banners that apply to `me` now, in the order of SOURCES. */
export async function renderBanners(slot, me) {
  if (!me) { slot.replaceChildren(); return; }
  const shown = await Promise.all(SOURCES.map(async (source) => {
    try { return await source(me); } catch { return null; }
  }));
  fill(slot, shown);
}
