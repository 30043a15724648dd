// Test fixtures shared by the unit tests (never imported by the app).
import type { RecordDraft } from "./bindings/RecordDraft";

/** A form with nothing filled in, as a new visit starts. */
export function blankDraft(): RecordDraft {
  return {
    sending_unit: "", sampling_number: "", task_year: null, task_name: "", task_number: "", task_level: null, task_document: "",
    product_category: "", business_name: "", business_uscc: "", business_address: "", business_person: "", business_phone: "",
    business_role: null, business_platform: "", product_name: "", product_brand: "", product_spec_model: "", product_batch: "",
    production_licence: "", ccc_certificate: "", producer_none: false, producer_name: "", producer_address: "",
    sampler1_name: "", sampler1_credential: "", sampler2_name: "", sampler2_credential: "", place_address: "", place_gps: null,
    started_at: null, ended_at: null, outcome: null, grounds: [], situation: "", must_not_sample: null, refusal: null,
  };
}
