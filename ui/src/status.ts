import type { LeadState } from "./bindings/LeadState";
import { LEAD_STATES } from "./bindings/labels";

/** The records list's tabs: 全部 (""), then every state in the order a lead passes them. */
export const STATE_TABS: readonly (LeadState | "")[] = ["", ...LEAD_STATES];

/** Badge colour of each state in the records list. */
export function stateTagType(state: LeadState): "primary" | "success" | "warning" | "danger" | "default" {
  switch (state) {
    case "draft":
      return "default";
    case "sealed":
      return "warning";
    case "delivered":
    case "acknowledged":
      return "primary";
    case "case_filed":
    case "reported_to_city":
      return "success";
    case "declined":
      return "danger";
  }
}

/** The i18n key of a state's label: one wording per state, the domain's. */
export function stateLabelKey(state: LeadState): string {
  return `state.${state}`;
}

/** "29.5630000, 106.5510000" from integer 1e-7 degrees. */
export function formatGps(p: { lat_e7: number; lon_e7: number } | null | undefined): string | null {
  if (!p) return null;
  return `${(p.lat_e7 / 1e7).toFixed(7)}, ${(p.lon_e7 / 1e7).toFixed(7)}`;
}

export function shortHash(sha: string): string {
  return sha.slice(0, 8) + "…" + sha.slice(-4);
}
