//! The notice's lead lists from the bureau's handling records, through
//! `fieldlead-forms`: 附件7 移交线索立案案件结果清单 (every decided lead, with fines,
//! confiscations and the reason when not filed) and 附件8 不予立案线索清单.

use fieldlead_domain::Decision;
use fieldlead_forms::{CaseResultRow, DeclinedRow, LeadList, ListFooter};

use crate::error::Result;
use crate::model::User;
use crate::service::{now, Bureau};
use crate::storage::LeadFilter;

/// Which list, and in which format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListExport {
    CaseResults,
    Declined,
}

use fieldlead_domain::time::china;

impl Bureau {
    /// The list over every lead the user may see that has a decision.
    pub fn lead_list(&self, user: &User, which: ListExport) -> Result<LeadList> {
        let mut case_rows = Vec::new();
        let mut declined_rows = Vec::new();
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
            let Some(decision) = row.handling.decision else {
                continue;
            };
            let upload = &row.upload;
            let product = &upload.manifest.manifest.record.product;
            let reason = row.handling.decline_reason.clone();
            case_rows.push(CaseResultRow {
                brand: product.brand.clone(),
                product_name: product.name.clone(),
                report_no: None,
                fine_fen: row.handling.fine,
                confiscation_fen: row.handling.confiscation,
                remark: row
                    .handling
                    .remark
                    .clone()
                    .or(row.handling.case_number.clone()),
                decline_reason: reason.clone(),
            });
            if decision == Decision::Declined {
                declined_rows.push(DeclinedRow {
                    brand: product.brand.clone(),
                    product_name: product.name.clone(),
                    spec_model: product.spec_model.clone(),
                    report_no: None,
                    transferred_on: Some(row.received_at.with_timezone(&china()).date_naive()),
                    decline_grounds: reason,
                    decline_reason: None,
                });
            }
        }
        let footer = ListFooter {
            sending_unit: Some(
                user.district
                    .as_ref()
                    .map(|d| d.name.clone())
                    .unwrap_or_else(|| "市场监督管理局质量监督处".into()),
            ),
            date: Some(now().with_timezone(&china()).date_naive()),
            ..ListFooter::default()
        };
        Ok(match which {
            ListExport::CaseResults => LeadList::CaseResults {
                footer,
                rows: case_rows,
            },
            ListExport::Declined => LeadList::Declined {
                footer,
                rows: declined_rows,
            },
        })
    }
}
