//! Reports as CSV a spreadsheet opens as is: UTF-8 with a byte-order mark (without it, Excel
//! reads Vietnamese as Windows-1252), CRLF line ends, fields quoted where RFC 4180 asks, and
//! sections one after another (a title row, a header row, the rows, a blank line), labelled in
//! Vietnamese and English.

use super::handling::HandlingReport;
use super::supply::{Supply, SupplyReport};

pub const BOM: &str = "\u{feff}";

/// A CSV document being written.
pub struct Sheet {
    out: String,
}

impl Default for Sheet {
    fn default() -> Self {
        Self::new()
    }
}

impl Sheet {
    pub fn new() -> Self {
        Sheet {
            out: String::from(BOM),
        }
    }

    pub fn row<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut first = true;
        for f in fields {
            if !first {
                self.out.push(',');
            }
            first = false;
            self.out.push_str(&cell(f.as_ref()));
        }
        self.out.push_str("\r\n");
    }

    pub fn blank(&mut self) {
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// A field as CSV (RFC 4180): quoted when it holds a comma, a quote or a line break. Text a
/// spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or CR first: a device's name, a
/// field report's text, a username typed at the login can be anything) gets a leading `'`, so
/// it opens as text (OWASP, CSV injection). The reports' own numbers are never negative.
pub fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// A number as a spreadsheet reads it; empty when there is none.
pub fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Some(v) => format!("{v:.3}"),
        None => String::new(),
    }
}

/// The handling report: the heading, the summary, then one section per breakdown.
pub fn handling(r: &HandlingReport) -> String {
    let mut s = Sheet::new();
    s.row(["Báo cáo tình hình tiếp nhận và xử lý cảnh báo / Alert handling report"]);
    if let Some(p) = &r.province {
        s.row(["Tỉnh / Province", p]);
    }
    s.row(["Kỳ báo cáo / Period", &r.period.label]);
    s.row(["Từ ngày / From", &r.period.first_day]);
    s.row(["Đến ngày / To", &r.period.last_day]);
    s.row(["Múi giờ / Time zone", &r.period.timezone]);
    s.blank();
    s.row(["Chỉ tiêu / Measure", "Giá trị / Value"]);
    let d = &r.deadlines;
    let lines: [(&str, String); 16] = [
        ("Tổng số cảnh báo / Alerts opened", r.total.to_string()),
        (
            "Tiếp nhận: trung vị (giây) / Acknowledge: median (s)",
            num(r.ack_median_s),
        ),
        (
            "Tiếp nhận: p90 (giây) / Acknowledge: p90 (s)",
            num(r.ack_p90_s),
        ),
        (
            "Chuyển xử lý: trung vị (giây) / Dispatch: median (s)",
            num(r.dispatch_median_s),
        ),
        (
            "Chuyển xử lý: p90 (giây) / Dispatch: p90 (s)",
            num(r.dispatch_p90_s),
        ),
        (
            "Xử lý xong: trung vị (giây) / Resolve: median (s)",
            num(r.resolve_median_s),
        ),
        (
            "Xử lý xong: p90 (giây) / Resolve: p90 (s)",
            num(r.resolve_p90_s),
        ),
        (
            "Tự hết trước khi chuyển xử lý / Cleared by themselves",
            r.auto_cleared.to_string(),
        ),
        (
            "Có hạn tiếp nhận / With an acknowledgement deadline",
            d.with_ack_deadline.to_string(),
        ),
        (
            "Trễ hạn tiếp nhận / Acknowledgement deadline breached",
            d.ack_breaches.to_string(),
        ),
        (
            "Có hạn xử lý / With a resolution deadline",
            d.with_resolve_deadline.to_string(),
        ),
        (
            "Trễ hạn xử lý / Resolution deadline breached",
            d.resolve_breaches.to_string(),
        ),
        ("Số lần nâng cấp / Escalations", d.escalations.to_string()),
        (
            "Cảnh báo bị nâng cấp / Alerts escalated",
            d.alerts_escalated.to_string(),
        ),
        (
            "Tồn cuối kỳ / Still open at the end",
            r.open_at_end_total.to_string(),
        ),
        (
            "Nguồn / Sources",
            r.by_source
                .iter()
                .map(|c| format!("{} {}", c.key, c.count))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ];
    for (label, value) in lines {
        s.row([label, &value]);
    }
    s.blank();
    s.row(["Trạng thái cuối kỳ / State at the end", "Số lượng / Count"]);
    for (state, n) in &r.by_state {
        s.row([state.as_str(), &n.to_string()]);
    }
    for (title, counts) in [
        ("Loại sự cố / Category", &r.by_category),
        ("Mức độ / Severity", &r.by_severity),
        ("Địa bàn / Area", &r.by_area),
    ] {
        s.blank();
        s.row([title, "Tên / Name", "Số lượng / Count"]);
        for c in counts {
            s.row([c.key.as_str(), c.name.as_str(), &c.count.to_string()]);
        }
    }
    s.blank();
    s.row([
        "Cơ quan / Agency",
        "Tên / Name",
        "Đã nhận / Received",
        "Đúng hạn / On time",
        "Trễ hạn / Late",
        "Tồn / Outstanding",
        "Quá hạn / Overdue",
        "Đã chuyển / Transferred",
        "Xử lý: trung vị (giây) / Resolve: median (s)",
    ]);
    for a in &r.by_agency {
        s.row([
            a.agency.clone(),
            a.name.clone(),
            a.received.to_string(),
            a.on_time.to_string(),
            a.late.to_string(),
            a.outstanding.to_string(),
            a.overdue.to_string(),
            a.transferred.to_string(),
            num(a.resolve_median_s),
        ]);
    }
    s.blank();
    s.row([
        "Ngày / Date",
        "Tổng / Total",
        "Nghiêm trọng / Critical",
        "Cảnh báo / Warning",
        "Thông tin / Info",
    ]);
    for d in &r.per_day {
        s.row([
            d.date.clone(),
            d.total.to_string(),
            d.critical.to_string(),
            d.warning.to_string(),
            d.info.to_string(),
        ]);
    }
    s.blank();
    s.row([
        "Tồn cuối kỳ (cũ nhất) / Open at the end (oldest)",
        "Trạng thái / State",
        "Mức độ / Severity",
        "Loại / Category",
        "Đối tượng / Subject",
        "Cơ quan / Agency",
        "Mở lúc / Opened",
        "Quá hạn / Overdue",
    ]);
    for o in &r.open_at_end_oldest {
        s.row([
            o.id.to_string(),
            o.state.as_str().to_owned(),
            o.severity.clone(),
            o.category.clone().unwrap_or_default(),
            o.subject.clone(),
            o.agency.clone().unwrap_or_default(),
            o.opened.clone(),
            if o.overdue { "x" } else { "" }.to_owned(),
        ]);
    }
    s.blank();
    s.row(["Định nghĩa / Definitions"]);
    for d in r.definitions.values() {
        s.row([
            format!("{} / {}", d.term_vi, d.term_en),
            format!("{} / {}", d.vi, d.en),
        ]);
    }
    s.finish()
}

/// A share as a spreadsheet reads it (0.875), empty when there is none.
fn share(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.4}"))
}

const SUPPLY_HEADER: [&str; 14] = [
    "Dự kiến / Expected",
    "Nhận được / Received",
    "Bị từ chối / Rejected",
    "Gửi trùng / Duplicates",
    "Ngoài dải đo / Out of range",
    "Đủ / Complete",
    "Đúng / Correct",
    "Sạch / Clean",
    "Sống / Live",
    "Độ trễ trung vị (giây) / Latency median (s)",
    "Độ trễ p95 (giây) / Latency p95 (s)",
    "Số lần gián đoạn / Outages",
    "Thời gian gián đoạn (giây) / Outage time (s)",
    "Từ chối theo lý do / Rejected by reason",
];

fn supply_fields(s: &Supply) -> Vec<String> {
    vec![
        s.expected.to_string(),
        s.received.to_string(),
        s.rejected.to_string(),
        s.duplicates.to_string(),
        s.out_of_range.to_string(),
        share(s.complete),
        share(s.correct),
        share(s.clean),
        share(s.live),
        num(s.latency_median_s),
        num(s.latency_p95_s),
        s.outages.to_string(),
        num(Some(s.outage_s)),
        s.rejected_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

/// The data-supply report: the heading, the systems, the devices, the outages, the definitions.
pub fn supply(r: &SupplyReport) -> String {
    let mut s = Sheet::new();
    s.row(["Báo cáo tình hình cung cấp dữ liệu của các hệ thống kết nối / Data supply report"]);
    if let Some(p) = &r.province {
        s.row(["Tỉnh / Province", p]);
    }
    s.row(["Kỳ báo cáo / Period", &r.period.label]);
    s.row(["Từ ngày / From", &r.period.first_day]);
    s.row(["Đến ngày / To", &r.period.last_day]);
    s.row(["Múi giờ / Time zone", &r.period.timezone]);
    s.row([
        "Ngưỡng sống (giây) / Live within (s)",
        &num(Some(r.live_within_s)),
    ]);
    s.row([
        "Ngưỡng gián đoạn (giây) / Outage after (s)",
        &num(Some(r.outage_after_s)),
    ]);
    s.blank();
    let mut header = vec![
        "Hệ thống / System",
        "Tên / Name",
        "Đơn vị quản lý / Owner",
        "Số thiết bị / Devices",
        "Không có dữ liệu / Silent",
    ];
    header.extend(SUPPLY_HEADER);
    s.row(header);
    for sys in &r.systems {
        let mut row = vec![
            sys.id.clone(),
            sys.name.clone(),
            sys.owner.clone().unwrap_or_default(),
            sys.devices.to_string(),
            sys.silent_devices.to_string(),
        ];
        row.extend(supply_fields(&sys.supply));
        s.row(row);
    }
    s.blank();
    let mut header = vec![
        "Thiết bị / Device",
        "Tên / Name",
        "Hệ thống / System",
        "Số thông số / Metrics",
        "Chu kỳ (giây) / Interval (s)",
        "Nguồn chu kỳ / Interval from",
    ];
    header.extend(SUPPLY_HEADER);
    header.push("Bản ghi cuối / Last reading");
    s.row(header);
    for d in &r.devices {
        let mut row = vec![
            d.device.clone(),
            d.name.clone().unwrap_or_default(),
            d.system.clone(),
            d.metrics.to_string(),
            num(d.interval_s),
            d.interval_source.to_owned(),
        ];
        row.extend(supply_fields(&d.supply));
        row.push(d.last_reading.clone().unwrap_or_default());
        s.row(row);
    }
    s.blank();
    s.row([
        "Gián đoạn / Outage: thiết bị / device",
        "Hệ thống / System",
        "Bắt đầu / Start",
        "Kết thúc / End",
        "Thời lượng (giây) / Length (s)",
    ]);
    for o in &r.outages {
        s.row([
            o.device.clone(),
            o.system.clone(),
            o.start.clone(),
            o.end
                .clone()
                .unwrap_or_else(|| "(đang tiếp diễn / running)".into()),
            num(Some(o.length_s)),
        ]);
    }
    s.blank();
    s.row(["Định nghĩa / Definitions"]);
    for d in r.definitions.values() {
        s.row([
            format!("{} / {}", d.term_vi, d.term_en),
            format!("{} / {}", d.vi, d.en),
        ]);
    }
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_where_needed_and_the_sheet_starts_with_a_bom() {
        let mut s = Sheet::new();
        s.row(["Sở Nông nghiệp và Môi trường", "a,b", "say \"hi\"", "x"]);
        let text = s.finish();
        assert!(text.starts_with('\u{feff}'));
        assert_eq!(
            &text[3..],
            "Sở Nông nghiệp và Môi trường,\"a,b\",\"say \"\"hi\"\"\",x\r\n"
        );
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(
            (cell("@sum"), cell("+84 912")),
            ("'@sum".into(), "'+84 912".into())
        );
        assert_eq!(num(Some(600.0)), "600");
        assert_eq!(num(Some(0.5)), "0.500");
        assert_eq!(num(None), "");
    }
}
