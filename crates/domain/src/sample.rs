//! A complete, valid terminated sampling: the record tests, benchmarks and demos
//! start from, so each does not keep its own copy of thirty fields.

use chrono::DateTime;

use crate::{BusinessRole, Ground, OutcomeKind, RecordDraft};

/// A draft that validates and becomes a lead once it has photos and signoffs: a
/// socket without CCC marking found at a shop. The USCC is a real published one.
pub fn terminated_draft() -> RecordDraft {
    RecordDraft {
        sending_unit: "重庆市某某质量检验检测研究院".into(),
        task_year: Some(2026),
        task_name: "2026年插座产品质量监督抽查".into(),
        task_number: "CQ-2026-031".into(),
        product_category: "插头插座".into(),
        business_name: "重庆某某电器经营部".into(),
        business_uscc: "91110108551385082Q".into(),
        business_address: "重庆市江北区观音桥步行街 1 号".into(),
        business_person: "赵六".into(),
        business_phone: "13800000000".into(),
        business_role: Some(BusinessRole::Seller),
        product_name: "移动式插座".into(),
        producer_name: "某某电器厂".into(),
        producer_address: "浙江省某市".into(),
        sampler1_name: "李四".into(),
        sampler1_credential: "CQ50001234".into(),
        sampler2_name: "王五".into(),
        sampler2_credential: "CQ50005678".into(),
        place_address: "重庆市江北区观音桥步行街 1 号".into(),
        started_at: Some(
            DateTime::parse_from_rfc3339("2026-11-21T14:00:00+08:00").expect("valid time"),
        ),
        outcome: Some(OutcomeKind::Terminated),
        grounds: vec![Ground::SuspectedNoCcc],
        situation: "插座无 CCC 标志，经营者不能提供认证证书。".into(),
        ..RecordDraft::default()
    }
}

#[cfg(test)]
mod tests {
    use crate::LeadId;

    #[test]
    fn the_sample_validates() {
        assert!(super::terminated_draft().validate(LeadId::new()).is_ok());
    }
}
