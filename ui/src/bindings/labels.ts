// Generated from the Rust domain crate (crates/domain/src/labels.rs) by
// `cargo test -p fieldlead-domain --features ts`. Do not edit by hand.

import type { BusinessRole } from "./BusinessRole";
import type { LeadState } from "./LeadState";
import type { TaskLevel } from "./TaskLevel";

/** Every lead state, in the order a lead passes through them. */
export const LEAD_STATES: readonly LeadState[] = [
  "draft",
  "sealed",
  "delivered",
  "acknowledged",
  "case_filed",
  "declined",
  "reported_to_city",
];

/** Each lead state as the tablet, the console and the forms say it. */
export const LEAD_STATE_LABELS: Record<LeadState, string> = {
  draft: "草稿",
  sealed: "已锁定待报送",
  delivered: "区县局已接收",
  acknowledged: "区县局已签收",
  case_filed: "已立案",
  declined: "不予立案",
  reported_to_city: "已报告市局质监处",
};

/** The sampled business's role, one wording everywhere. */
export const BUSINESS_ROLE_LABELS: Record<BusinessRole, string> = {
  producer: "生产者",
  seller: "销售者",
  ecommerce_shop: "电子商务平台内经营者",
};

/** Who issued a spot-check task (任务来源), in the form's order. */
export const TASK_LEVELS: readonly TaskLevel[] = [
  "national",
  "city",
  "district",
];

/** Each issuing body as the notice names it. */
export const TASK_LEVEL_LABELS: Record<TaskLevel, string> = {
  national: "市场监管总局",
  city: "市局",
  district: "区县局",
};

/** The GPS range a point must lie in, in degrees either way. */
export const MAX_LAT_DEG = 90;
export const MAX_LON_DEG = 180;

/** The form's text limits, in characters, as the core checks them. */
export const MAX_SITUATION_CHARS = 4000;
export const MAX_CAPTION_CHARS = 200;
export const USCC_CHARS = 18;

/** Instants and how every screen shows them (China Standard Time). */
export const TIME_EXAMPLES: readonly (readonly [string, string])[] = [
  ["2026-03-05T06:30:59Z", "2026年3月5日 14:30"],
  ["2026-12-31T16:05:00Z", "2027年1月1日 00:05"],
  ["2026-11-29T05:13:36.250Z", "2026年11月29日 13:13"],
  ["2027-01-09T23:59:00+08:00", "2027年1月9日 23:59"],
];
