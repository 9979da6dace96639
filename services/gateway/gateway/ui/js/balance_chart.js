// The dashboard's chart: the balance over the last 90 days (daily closing balances from
// GET /api/billing/balance/history), the low-balance threshold, and the line to the projected run-out
// date (GET /api/billing/forecast). Drawn by uPlot (vendored, MIT: ../vendor/uplot/), loaded on first
// use; the figure's caption says the same in words for screen readers and without the chart.
import { get } from "./api.js";
import { fromMinor, toMinor } from "./decimal.js";
import { date, h, money } from "./ui.js";

const UPLOT = "/ui/vendor/uplot/";
const COLOURS = { balance: "#0b5fff", threshold: "#b3261e", projection: "#5b6470" }; // as in app.css's key
const DAY = 86400;

let library = null;
/** uPlot's script and stylesheet, added to the page once. */
function loadUPlot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  library ??= new Promise((resolve, reject) => {
    // One element each into <head>, never page content: appendChild, not the ui.js helpers pages use.
    document.head.appendChild(h("link", { rel: "stylesheet", href: `${UPLOT}uPlot.min.css` }));
    const script = h("script", { src: `${UPLOT}uPlot.iife.min.js` });
    script.addEventListener("load", () => resolve(window.uPlot));
    script.addEventListener("error", () => { library = null; reject(new Error("The chart could not be loaded.")); });
    document.head.appendChild(script);
  });
  return library;
}

/** Noon UTC of a YYYY-MM-DD day, in seconds: the day's place on the time axis whatever the browser's zone. */
const when = (day) => Date.parse(`${day}T12:00:00Z`) / 1000;
/** Plotted in whole paise (exact as numbers); shown as money. */
const paise = (amount) => Number(toMinor(amount));
const shown = (value) => money(fromMinor(BigInt(Math.round(value))));

function describe(history, forecast) {
  const points = history.points;
  const first = points[0];
  const last = points[points.length - 1];
  const lowest = points.reduce((low, p) => (toMinor(p.balance) < toMinor(low.balance) ? p : low), first);
  const words = [
    `Balance over the last ${history.days} days: ${money(first.balance)} on ${date(first.date)}, `,
    `${money(last.balance)} today; lowest ${money(lowest.balance)} on ${date(lowest.date)}. `,
    `Low-balance threshold: ${money(history.low_balance_threshold)}. `,
  ];
  words.push(forecast.runs_out_on
    ? `At the last ${forecast.window_days} days' rate of ${money(forecast.daily_spend)} a day, the credits last `
      + `${forecast.days_left} more days: they run out on ${date(forecast.runs_out_on)}.`
    : `Nothing was spent in the last ${forecast.window_days} days, so there is no run-out date to forecast.`);
  return words.join("");
}

function series(history, forecast) {
  const days = history.points.map((p) => p.date);
  const balances = history.points.map((p) => paise(p.balance));
  const today = days[days.length - 1];
  const projected = forecast.runs_out_on && forecast.runs_out_on > today;
  const xs = days.map(when);
  if (projected) xs.push(when(forecast.runs_out_on));
  const pad = (values) => (projected ? [...values, null] : values);
  const threshold = xs.map(() => paise(history.low_balance_threshold));
  const projection = xs.map((_, i) => (i === days.length - 1 ? balances[balances.length - 1] : null));
  if (projected) projection[xs.length - 1] = 0;
  return [xs, pad(balances), threshold, projection];
}

function options(width) {
  const line = (label, stroke, extra = {}) => ({ label, stroke, width: 2, ...extra });
  return {
    width,
    height: Math.round(Math.min(280, Math.max(180, width * 0.5))),
    legend: { show: false },
    cursor: { show: false },
    scales: { y: { range: (u, min, max) => [0, Math.max(max, 100) * 1.1] } },
    axes: [
      { stroke: "#5b6470", grid: { stroke: "#eef0f3" }, space: 70,
        values: (u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleDateString("en-IN", { day: "numeric", month: "short" })) },
      { stroke: "#5b6470", grid: { stroke: "#eef0f3" }, size: 80, values: (u, ticks) => ticks.map(shown) },
    ],
    series: [
      {},
      line("Balance", COLOURS.balance),
      line("Low-balance threshold", COLOURS.threshold, { dash: [6, 4] }),
      line("Projected", COLOURS.projection, { dash: [2, 4], spanGaps: true }),
    ],
  };
}

function key() {
  const item = (name, text) => h("li", {}, h("span", { class: `swatch ${name}` }), text);
  return h("ul", { class: "chart-key", "aria-hidden": "true" },
    item("balance", "Balance"), item("threshold", "Low-balance threshold"),
    item("projection", "Projected until the credits run out"));
}

/** The dashboard's card: the chart, its key, and its caption in words. */
export async function balanceCard() {
  const [history, forecast] = await Promise.all([get("/api/billing/balance/history?days=90"), get("/api/billing/forecast")]);
  const plot = h("div", { class: "chart", "aria-hidden": "true", "data-testid": "balance-chart" });
  const runsOut = forecast.runs_out_on
    ? h("p", { "data-testid": "runs-out", "data-runs-out-on": forecast.runs_out_on },
      "At the last 30 days' rate (", h("strong", {}, `${money(forecast.daily_spend)} a day`), "), your credits last ",
      h("strong", {}, `${forecast.days_left} more days`), `: until ${date(forecast.runs_out_on)}.`)
    : h("p", { "data-testid": "runs-out", class: "muted" }, "Nothing was spent in the last 30 days: no run-out date to forecast.");
  const card = h("section", { class: "card", "aria-labelledby": "trend-title" },
    h("h3", { id: "trend-title" }, "When the credits run out"),
    runsOut,
    h("figure", { class: "balance-figure" }, plot, key(),
      h("figcaption", { class: "muted", "data-testid": "balance-summary" }, describe(history, forecast))));
  draw(plot, history, forecast);
  return card;
}

async function draw(plot, history, forecast) {
  let uPlot;
  try { uPlot = await loadUPlot(); } catch (error) { plot.textContent = error.message; return; }
  // Drawn once the dashboard is in the page (its width is known then); never, if the user went elsewhere.
  for (let frame = 0; frame < 120 && !plot.isConnected; frame += 1) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  if (!plot.isConnected) return;
  const chart = new uPlot(options(Math.max(200, plot.clientWidth)), series(history, forecast), plot);
  const resized = new ResizeObserver(() => {
    if (!plot.isConnected) { resized.disconnect(); chart.destroy(); return; }
    const width = Math.max(200, plot.clientWidth);
    if (width !== chart.width) chart.setSize(options(width));
  });
  resized.observe(plot);
}
