function pad(n: number): string {
  return String(n).padStart(2, "0");
}

// Times on screen: always China Standard Time (UTC+8, no daylight saving), written
// as the notice writes them ("2026年3月5日 14:30"), whatever the tablet's time zone
// or language. Nothing here asks the tablet: no toLocaleString, no local getters.

const CHINA_OFFSET_MIN = 8 * 60;

/** "2026-03-05T06:30:59Z", "…+08:00", "… 14:30:00.250-05:00": RFC 3339 with a zone. */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$/;

/** Days in a month (1-12) of the Gregorian calendar. */
function daysIn(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
}

/** Milliseconds since the epoch of an RFC 3339 instant, or null if it is not one. */
function epochMs(iso: string): number | null {
  const m = RFC3339.exec(iso.trim());
  if (!m) return null;
  const [y, mo, d, h, mi] = [1, 2, 3, 4, 5].map((i) => Number(m[i]));
  const s = m[6] ? Number(m[6]) : 0;
  const ms = m[7] ? Number((m[7] + "00").slice(0, 3)) : 0;
  // A leap second (":60") is the last moment of its minute.
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 60) return null;
  let offset = 0;
  if (!m[8]) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return null;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, Math.min(s, 59), s === 60 ? 999 : ms);
  return t.getTime() - offset * 60_000;
}

/** The wall clock in China at an instant: a Date whose UTC fields are China's. */
function chinaClock(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const ms = epochMs(iso);
  return ms === null ? null : new Date(ms + CHINA_OFFSET_MIN * 60_000);
}

function chinaDateOf(c: Date): string {
  return `${c.getUTCFullYear()}年${c.getUTCMonth() + 1}月${c.getUTCDate()}日`;
}

/** "2026年3月5日 14:30" in China Standard Time; "" for an empty or invalid instant. */
export function formatChinaTime(iso: string | null | undefined): string {
  const c = chinaClock(iso);
  return c ? `${chinaDateOf(c)} ${pad(c.getUTCHours())}:${pad(c.getUTCMinutes())}` : "";
}

/**
 * "2026年3月5日": the day in China of an instant; a calendar date ("2026-03-05") is
 * that day as it is. "" for an empty or invalid input.
 */
export function formatChinaDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const day = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso.trim());
  if (day) {
    const [y, m, d] = [1, 2, 3].map((i) => Number(day[i]));
    return m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m) ? `${y}年${m}月${d}日` : "";
  }
  const c = chinaClock(iso);
  return c ? chinaDateOf(c) : "";
}

/**
 * A photo's EXIF capture time ("2022:08:14 14:12:31", offset "+08:00" if the camera
 * wrote one) as screens show times. With an offset it is an instant, shown in China
 * time (`zoned`); without, it is the camera's own clock, shown as written in the same
 * form. `null` if there is no time, or it is not one (the caller shows it as written).
 */
export function formatExifTime(
  datetime: string | null | undefined,
  offset: string | null | undefined,
): { text: string; zoned: boolean } | null {
  if (!datetime) return null;
  const m = /^(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2})(?::(\d{2}))?/.exec(datetime.trim());
  if (!m) return null;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? "00"}`;
  if (offset) {
    const text = formatChinaTime(iso + offset.trim());
    if (text) return { text, zoned: true };
  }
  // The camera's clock, zone unknown: read it as if written in UTC only to check and
  // lay it out, without moving it.
  const c = epochMs(iso + "Z");
  if (c === null) return null;
  const t = new Date(c);
  return { text: `${chinaDateOf(t)} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}`, zoned: false };
}

/**
 * The wall clock in China at an instant, as the form's date and time pickers hold
 * it: `date` ["2026", "03", "05"], `time` ["14", "30"]. `null` for an empty or
 * invalid instant.
 */
export function chinaPickerParts(iso: string | null | undefined): { date: string[]; time: string[] } | null {
  const c = chinaClock(iso);
  if (!c) return null;
  return {
    date: [String(c.getUTCFullYear()), pad(c.getUTCMonth() + 1), pad(c.getUTCDate())],
    time: [pad(c.getUTCHours()), pad(c.getUTCMinutes())],
  };
}

/**
 * A time picked as China's wall clock, as the record keeps it: RFC 3339 at +08:00
 * ("2026-03-05T14:30:00+08:00"), whatever the tablet's own zone. `null` if the
 * parts are not a real date and time.
 */
export function fromChinaPicker(date: string[], time: string[]): string | null {
  const [y, mo, d] = date.map(Number);
  const [h, mi] = time.map(Number);
  if (![y, mo, d, h, mi].every(Number.isInteger)) return null;
  if (mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h < 0 || h > 23 || mi < 0 || mi > 59) return null;
  return `${String(y).padStart(4, "0")}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:00+08:00`;
}
