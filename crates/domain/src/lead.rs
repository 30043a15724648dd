//! The life of a lead, from the tablet's draft to the bureau's report to the city.

use serde::{Deserialize, Serialize};

/// Where a record or lead stands. The first three are the tablet's; the rest are
/// set by the district bureau and shown back on the tablet.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadState {
    /// Being filled in; editable.
    Draft,
    /// Signed and read-only; waiting to be delivered.
    Sealed,
    /// The bureau returned a signed receipt for the manifest and every photo.
    Delivered,
    /// A district officer has taken the lead in hand (签收).
    Acknowledged,
    /// A case was filed (立案).
    CaseFiled,
    /// Declined, with a reason (不予立案).
    Declined,
    /// The outcome was reported to the city bureau's quality division.
    ReportedToCity,
}

crate::wire_names!(LeadState, "线索状态", {
    Draft => "draft",
    Sealed => "sealed",
    Delivered => "delivered",
    Acknowledged => "acknowledged",
    CaseFiled => "case_filed",
    Declined => "declined",
    ReportedToCity => "reported_to_city",
});

impl LeadState {
    pub fn label_zh(self) -> &'static str {
        match self {
            LeadState::Draft => "草稿",
            // 锁定, never 封存: 封存 is what an officer does to goods.
            LeadState::Sealed => "已锁定待报送",
            // 报送, never 送达: 送达 is the legal act of serving a document.
            LeadState::Delivered => "区县局已接收",
            LeadState::Acknowledged => "区县局已签收",
            LeadState::CaseFiled => "已立案",
            LeadState::Declined => "不予立案",
            LeadState::ReportedToCity => "已报告市局质监处",
        }
    }

    /// Whether the record may still be edited on the tablet.
    pub fn is_editable(self) -> bool {
        self == LeadState::Draft
    }

    /// Whether nothing more can happen to the lead: no state follows this one, so
    /// the tablet stops asking the bureau about it.
    pub fn is_final(self) -> bool {
        !Self::ALL.iter().any(|&next| self.can_become(next))
    }

    /// Whether the bureau holds the lead (it answered with a receipt), so its
    /// state is the bureau's to change and the tablet's only to show.
    pub fn is_with_bureau(self) -> bool {
        !matches!(self, LeadState::Draft | LeadState::Sealed)
    }

    /// The allowed next states: a lead only moves forward.
    pub fn can_become(self, next: LeadState) -> bool {
        use LeadState::*;
        matches!(
            (self, next),
            (Draft, Sealed)
                | (Sealed, Delivered)
                | (Delivered, Acknowledged)
                | (Acknowledged, CaseFiled)
                | (Acknowledged, Declined)
                | (CaseFiled, ReportedToCity)
                | (Declined, ReportedToCity)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::LeadState::*;

    #[test]
    fn only_forward_transitions() {
        assert!(Draft.can_become(Sealed));
        assert!(!Sealed.can_become(Draft));
        assert!(!Draft.can_become(Delivered));
        assert!(Acknowledged.can_become(Declined));
        assert!(!Declined.can_become(CaseFiled));
        assert!(!ReportedToCity.can_become(Acknowledged));
        assert!(Draft.is_editable() && !Sealed.is_editable());
    }

    #[test]
    fn only_the_report_to_the_city_is_final() {
        let finals: Vec<_> = super::LeadState::ALL
            .iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(finals, [&ReportedToCity]);
        // A declined lead may still be reported to the city.
        assert!(!Declined.is_final());
    }

    #[test]
    fn wire_names_are_the_serde_names() {
        crate::wire::assert_names_match_serde(&super::LeadState::ALL, |s| s.as_str());
        assert!("closed".parse::<super::LeadState>().is_err());
    }
}
