//! The termination leads' own list, 产品违法线索办理情况清单: every lead samplers
//! transferred on the spot and how the district handled it, through
//! `fieldlead-forms`. It borrows no title of the notice's annexes: 附件7 and
//! 附件8 list the failed products' leads of the 后处理 workflow (section 四).

use fieldlead_domain::time::{china, china_date};
use fieldlead_domain::{Decision, Outcome};
use fieldlead_forms::{HandlingListRow, LeadList, ListFooter};

use crate::error::Result;
use crate::model::User;
use crate::service::{now, Bureau};
use crate::storage::LeadFilter;

impl Bureau {
    /// The list over every lead the user may see, oldest first.
    pub fn lead_handling_list(&self, user: &User) -> Result<LeadList> {
        let mut rows = Vec::new();
        let mut summaries = self.leads_for(
            user,
            &LeadFilter {
                limit: Some(100_000),
                ..LeadFilter::default()
            },
        )?;
        // Oldest first, as a list is read.
        summaries.reverse();
        for s in summaries {
            let row = self.lead_for(user, s.id)?;
            let record = &row.upload.manifest.manifest.record;
            let h = &row.handling;
            let grounds = match &record.outcome {
                Outcome::Terminated { grounds, .. } => Some(
                    grounds
                        .iter()
                        .map(|g| g.label_zh().to_string())
                        .collect::<Vec<_>>()
                        .join("；"),
                ),
                _ => None,
            };
            rows.push(HandlingListRow {
                business_name: record.business.name.clone(),
                product_name: record.product.name.clone(),
                brand: record.product.brand.clone(),
                grounds,
                received_on: Some(row.received_at.with_timezone(&china()).date_naive()),
                acknowledged_on: h.acknowledged_at.map(china_date),
                result: h.decision.map(|d| {
                    match d {
                        Decision::CaseFiled => "立案",
                        Decision::Declined => "不予立案",
                    }
                    .to_string()
                }),
                case_number: h.case_number.clone(),
                fine_fen: h.fine,
                confiscation_fen: h.confiscation,
                decline_reason: h.decline_reason.clone(),
                reported_on: h.reported_to_city_on,
            });
        }
        let footer = ListFooter {
            sending_unit: Some(
                user.district
                    .as_ref()
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| "重庆市市场监督管理局质量监督处".into()),
            ),
            date: Some(china_date(now())),
            ..ListFooter::default()
        };
        Ok(LeadList::Handling { footer, rows })
    }
}
