// The printable report (report/index.html): the alert-handling or data-supply report of a period,
// laid out as an IOC sends it to the provincial People's Committee — the letterhead, the period,
// the numbers with charts where a reader would rather look than read, the definitions, the
// signature block; page numbers come from the print style. Vietnamese first, `?lang=en` for
// English. `?kind=handling|data-supply&period=2026-11` (or `&from=&to=`) shows the live report;
// `?issued=ID` an issued one, exactly as issued, with its version and SHA-256.
// The browser's "Print → Save as PDF" makes the PDF (docs/ARCHITECTURE.md says why no server PDF).

import { esc } from './html.js';
import { setLang, getLang, t, locale } from './i18n.js';

const q = new URLSearchParams(location.search);
if (q.get('lang') === 'vi' || q.get('lang') === 'en') setLang(q.get('lang'));
const vi = () => getLang() === 'vi';

const WORDS = {
  vi: {
    back: '← Bảng điều khiển', csv: 'Tải CSV', print: 'In / Lưu PDF', lang: 'English',
    committee: 'UBND TỈNH', centre: 'TRUNG TÂM GIÁM SÁT, ĐIỀU HÀNH THÔNG MINH',
    republic: 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', motto: 'Độc lập - Tự do - Hạnh phúc',
    report: 'BÁO CÁO', handling_title: 'Tình hình tiếp nhận và xử lý cảnh báo',
    supply_title: 'Tình hình cung cấp dữ liệu của các hệ thống kết nối',
    period: 'Kỳ báo cáo', from_to: 'từ ngày {a} đến ngày {b}',
    month: 'tháng {m} năm {y}', quarter: 'quý {q} năm {y}', half: '{h} năm {y}', year: 'năm {y}',
    first_half: '6 tháng đầu', second_half: '6 tháng cuối',
    s_summary: 'I. Tổng hợp chung', s_per_day: 'II. Số cảnh báo theo ngày', s_agency: 'III. Kết quả xử lý theo cơ quan chức năng',
    s_kinds: 'IV. Phân loại cảnh báo', s_open: 'V. Cảnh báo tồn cuối kỳ', s_def: 'VI. Giải thích số liệu',
    total: 'Tổng số cảnh báo', resolved: 'Đã xử lý xong', open_end: 'Tồn cuối kỳ',
    ack_late: 'Trễ hạn tiếp nhận', resolve_late: 'Trễ hạn xử lý', escalations: 'Lần nâng cấp',
    times: 'Thời gian kể từ khi mở', median: 'Trung vị', p90: 'Phân vị 90', t_ack: 'Tiếp nhận', t_dispatch: 'Chuyển xử lý', t_resolve: 'Xử lý xong',
    auto_cleared: 'Tự hết trước khi chuyển xử lý: {n}.',
    agency: 'Cơ quan', received: 'Đã nhận', on_time: 'Đúng hạn', late: 'Trễ hạn', outstanding: 'Tồn', overdue: 'Quá hạn', transferred: 'Đã chuyển', median_resolve: 'Xử lý (trung vị)',
    category: 'Loại sự cố', severity: 'Mức độ', area: 'Địa bàn', count: 'Số lượng', none: 'Không có.',
    id: 'Mã', state: 'Trạng thái', subject: 'Thiết bị / nội dung', opened: 'Mở lúc', age: 'Đã tồn',
    oldest: '{n} cảnh báo cũ nhất trong {total}.',
    s_systems: 'I. Tổng hợp theo hệ thống kết nối', s_chart: 'II. Tỷ lệ dữ liệu theo hệ thống',
    s_outages: 'III. Các lần gián đoạn dài nhất', s_devices: 'Phụ lục. Chi tiết theo thiết bị', s_def_supply: 'IV. Giải thích số liệu',
    system: 'Hệ thống', owner: 'Đơn vị quản lý', devices: 'Thiết bị', silent: 'Không có dữ liệu',
    expected: 'Dự kiến', got: 'Nhận được', rejected: 'Từ chối', duplicates: 'Trùng', out_of_range: 'Ngoài dải',
    correct: 'Đúng', complete: 'Đủ', clean: 'Sạch', live: 'Sống', outages: 'Gián đoạn', latency: 'Độ trễ (trung vị)',
    device: 'Thiết bị', interval: 'Chu kỳ', learned: 'học từ dữ liệu', start: 'Bắt đầu', end: 'Kết thúc', length: 'Thời lượng', running: 'đang tiếp diễn',
    thresholds: 'Sống: lưu trong vòng {live} kể từ thời điểm đo; gián đoạn: im lặng quá {out} (và quá ba chu kỳ).',
    recipients: 'Nơi nhận:', to_committee: 'UBND tỉnh (để báo cáo);', to_archive: 'Lưu: VT, IOC.',
    director: 'GIÁM ĐỐC', sign: '(Ký, ghi rõ họ tên và đóng dấu)',
    issued: 'Bản phát hành số {v}, lúc {at}, bởi {by}. SHA-256 của dữ liệu: {sha}.',
    preview: 'Bản xem trước lúc {at}: số liệu còn thay đổi khi có dữ liệu đến muộn; bản phát hành không đổi.',
    place_date: '{place}, ngày {d} tháng {m} năm {y}',
    unauthorized: 'Cần đăng nhập. Mở bảng điều khiển, đăng nhập, rồi mở lại báo cáo.',
    failed: 'Không tải được báo cáo',
    sec: 'giây', min: 'phút', hour: 'giờ', day: 'ngày',
  },
  en: {
    back: '← Console', csv: 'Download CSV', print: 'Print / Save as PDF', lang: 'Tiếng Việt',
    committee: "PEOPLE'S COMMITTEE OF", centre: 'INTELLIGENT OPERATIONS CENTRE',
    republic: 'SOCIALIST REPUBLIC OF VIETNAM', motto: 'Independence - Freedom - Happiness',
    report: 'REPORT', handling_title: 'Alert reception and handling',
    supply_title: 'Data supply of the connected systems',
    period: 'Period', from_to: 'from {a} to {b}',
    month: '{M} {y}', quarter: 'quarter {q} of {y}', half: '{h} of {y}', year: 'the year {y}',
    first_half: 'first half', second_half: 'second half',
    s_summary: 'I. Summary', s_per_day: 'II. Alerts per day', s_agency: 'III. Handling per agency',
    s_kinds: 'IV. Alerts by kind', s_open: 'V. Alerts still open at the end', s_def: 'VI. Definitions',
    total: 'Alerts', resolved: 'Resolved', open_end: 'Open at the end',
    ack_late: 'Acknowledged late', resolve_late: 'Resolved late', escalations: 'Escalations',
    times: 'Time from opening', median: 'Median', p90: '90th percentile', t_ack: 'Acknowledge', t_dispatch: 'Dispatch', t_resolve: 'Resolve',
    auto_cleared: 'Cleared by themselves before dispatch: {n}.',
    agency: 'Agency', received: 'Received', on_time: 'On time', late: 'Late', outstanding: 'Outstanding', overdue: 'Overdue', transferred: 'Transferred', median_resolve: 'Resolve (median)',
    category: 'Category', severity: 'Severity', area: 'Area', count: 'Count', none: 'None.',
    id: 'Id', state: 'State', subject: 'Device / text', opened: 'Opened', age: 'Open for',
    oldest: 'The {n} oldest of {total}.',
    s_systems: 'I. Per connected system', s_chart: 'II. Shares per system',
    s_outages: 'III. The longest outages', s_devices: 'Appendix. Per device', s_def_supply: 'IV. Definitions',
    system: 'System', owner: 'Owner', devices: 'Devices', silent: 'Silent',
    expected: 'Expected', got: 'Received', rejected: 'Refused', duplicates: 'Duplicates', out_of_range: 'Out of range',
    correct: 'Correct', complete: 'Complete', clean: 'Clean', live: 'Live', outages: 'Outages', latency: 'Latency (median)',
    device: 'Device', interval: 'Interval', learned: 'learned', start: 'Start', end: 'End', length: 'Length', running: 'running',
    thresholds: 'Live: stored within {live} of its timestamp; outage: silent for more than {out} (and three intervals).',
    recipients: 'To:', to_committee: "the Provincial People's Committee (report);", to_archive: 'Archive: office, IOC.',
    director: 'DIRECTOR', sign: '(Signature, full name and seal)',
    issued: 'Issued version {v}, at {at}, by {by}. SHA-256 of its data: {sha}.',
    preview: 'Preview at {at}: the numbers still change as late data arrives; an issued report does not.',
    place_date: '{place}, {d} {M} {y}',
    unauthorized: 'Log in first: open the console, log in, then open the report again.',
    failed: 'The report could not be loaded',
    sec: 's', min: 'min', hour: 'h', day: 'd',
  },
};

const w = (key, vars = {}) => {
  let s = WORDS[getLang()][key] ?? WORDS.vi[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, v);
  return s;
};
const int = (v) => new Intl.NumberFormat(locale()).format(v ?? 0);
const pct = (v) => (v === null || v === undefined ? '—' : new Intl.NumberFormat(locale(), { style: 'percent', maximumFractionDigits: 1 }).format(v));
const monthName = (m) => new Intl.DateTimeFormat('en-GB', { month: 'long' }).format(new Date(2000, m - 1, 1));
const dateOf = (s) => { const [y, m, d] = s.split('-'); return vi() ? `${d}/${m}/${y}` : `${Number(d)} ${monthName(Number(m))} ${y}`; };
const stamp = (iso) => new Intl.DateTimeFormat(locale(), {
  day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Ho_Chi_Minh',
}).format(new Date(iso));

/** Seconds as a person reads a duration: "12 phút", "3,5 giờ". */
function duration(s) {
  if (s === null || s === undefined) return '—';
  const n = (v) => new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(v);
  if (s < 90) return `${n(s)} ${w('sec')}`;
  if (s < 5400) return `${n(s / 60)} ${w('min')}`;
  if (s < 172800) return `${n(s / 3600)} ${w('hour')}`;
  return `${n(s / 86400)} ${w('day')}`;
}

/** The period in words: "tháng 11 năm 2026", "quý 4 năm 2026", "từ ngày … đến ngày …". */
function periodWords(p) {
  const [y, rest] = p.label.split('-');
  const range = w('from_to', { a: dateOf(p.first_day), b: dateOf(p.last_day) });
  switch (p.kind) {
    case 'month': return `${w('month', { m: Number(rest), M: monthName(Number(rest)), y })} (${range})`;
    case 'quarter': return `${w('quarter', { q: rest.slice(1), y })} (${range})`;
    case 'half_year': {
      const h = rest === 'H1' ? w('first_half') : w('second_half');
      return `${w('half', { h, y })} (${range})`;
    }
    case 'year': return `${w('year', { y })} (${range})`;
    default: return range;
  }
}


function letterhead(r, title) {
  const province = r.province ?? '';
  const today = new Date();
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', day: 'numeric', month: 'numeric', year: 'numeric' })
    .formatToParts(today).map((x) => [x.type, x.value]));
  const place = w('place_date', { place: province || '…', d: parts.day.padStart(2, '0'), m: parts.month.padStart(2, '0'), M: monthName(Number(parts.month)), y: parts.year });
  return `<div class="letterhead">
    <div><b>${esc(w('committee'))} ${esc(province.toLocaleUpperCase(locale()))}</b><b>${esc(w('centre'))}</b><div class="rule"></div></div>
    <div><b>${esc(w('republic'))}</b><b>${esc(w('motto'))}</b><div class="rule"></div><div class="place">${esc(place)}</div></div>
  </div>
  <h1>${esc(w('report'))}</h1>
  <div class="subtitle">${esc(title)}</div>
  <div class="period">${esc(w('period'))}: ${esc(periodWords(r.period))}</div>`;
}

function signatures() {
  return `<div class="signatures">
    <div class="recipients"><b>${esc(w('recipients'))}</b><ul><li>${esc(w('to_committee'))}</li><li>${esc(w('to_archive'))}</li></ul></div>
    <div class="sign"><b>${esc(w('director'))}</b><i>${esc(w('sign'))}</i></div>
  </div>`;
}

const table = (head, rows, numeric = []) => `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>
  <tbody>${rows.length ? rows.map((row) => `<tr>${row.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`).join('') : `<tr><td colspan="${head.length}">${esc(w('none'))}</td></tr>`}</tbody></table>`;

const SEV = { critical: '#c62828', warning: '#ef8f00', info: '#1e6fd9' };

/** Alerts per day as stacked bars by severity. */
function perDayChart(days) {
  const W = 640; const H = 170; const left = 28; const bottom = 22;
  const max = Math.max(1, ...days.map((d) => d.total));
  const bw = (W - left) / Math.max(1, days.length);
  const y = (v) => (H - bottom) * (1 - v / max);
  let bars = '';
  days.forEach((d, i) => {
    let base = 0;
    for (const sev of ['info', 'warning', 'critical']) {
      const v = d[sev];
      if (v) bars += `<rect x="${(left + i * bw + 1).toFixed(1)}" y="${y(base + v).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${(y(base) - y(base + v)).toFixed(1)}" fill="${SEV[sev]}"><title>${esc(d.date)}: ${v}</title></rect>`;
      base += v;
    }
    if (days.length <= 31 || i % 7 === 0) bars += `<text x="${(left + i * bw + bw / 2).toFixed(1)}" y="${H - 8}" text-anchor="middle">${Number(d.date.slice(8))}</text>`;
  });
  const ticks = [0, Math.ceil(max / 2), max].map((v) => `<text x="${left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${v}</text><line x1="${left}" x2="${W}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`).join('');
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(w('s_per_day'))}">${ticks}${bars}</svg>
    <div class="legend">${['critical', 'warning', 'info'].map((s) => `<i style="background:${SEV[s]}"></i>${esc(t(s))}`).join('')}</div>`;
}

/** Per system, its four shares as horizontal bars. */
function sharesChart(systems) {
  const rows = systems.filter((s) => s.devices > 0);
  const keys = [['complete', '#1e6fd9'], ['correct', '#2e7d32'], ['clean', '#8e24aa'], ['live', '#ef8f00']];
  const W = 640; const label = 210; const rowH = 12; const gap = 10;
  const H = rows.length * (keys.length * rowH + gap) + 20;
  let out = '';
  rows.forEach((s, i) => {
    const top = i * (keys.length * rowH + gap);
    const name = named(s.name);
    out += `<text x="0" y="${top + 2 * rowH}">${esc(name.length > 34 ? `${name.slice(0, 33)}…` : name)}</text>`;
    keys.forEach(([k, color], j) => {
      const v = s[k] ?? 0;
      const yy = top + j * rowH;
      out += `<rect x="${label}" y="${yy}" width="${((W - label - 50) * v).toFixed(1)}" height="${rowH - 2}" fill="${color}"><title>${esc(w(k))}: ${pct(s[k])}</title></rect>`;
      out += `<text x="${label + (W - label - 50) * v + 4}" y="${yy + rowH - 3}">${pct(s[k])}</text>`;
    });
  });
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(w('s_chart'))}">${out}</svg>
    <div class="legend">${keys.map(([k, c]) => `<i style="background:${c}"></i>${esc(w(k))}`).join('')}</div>`;
}

/** The order a reader meets the numbers in; keys the page does not know come last. */
const ORDER = ['total', 'ack', 'dispatch', 'resolve', 'median', 'deadlines', 'by_agency', 'open_at_end',
  'expected', 'complete', 'correct', 'clean', 'live', 'outages', 'systems'];

/** The report's own definitions, in the chosen language. */
function definitions(defs) {
  const rank = (k) => (ORDER.includes(k) ? ORDER.indexOf(k) : ORDER.length);
  const keys = Object.keys(defs).sort((a, b) => rank(a) - rank(b));
  return `<dl class="definitions">${keys.map((k) => defs[k]).map((d) => `<dt>${esc(vi() ? d.term_vi : d.term_en)}</dt><dd>${esc(vi() ? d.vi : d.en)}</dd>`).join('')}</dl>`;
}

/** A name the hub gives in both languages ("Chưa gán hệ thống / No system"), in the chosen one. */
const named = (name) => { const [v, e] = String(name).split(' / '); return e === undefined ? name : (vi() ? v : e); };

function handling(r) {
  const resolved = (r.by_state.resolved ?? 0) + (r.by_state.closed ?? 0);
  const d = r.deadlines;
  const kpi = (v, label) => `<div class="kpi"><b>${int(v)}</b><span>${esc(label)}</span></div>`;
  const counts = (list, name) => table([name, w('count')], list.map((c) => [esc(name === w('category') ? t(`cat_${c.key}`) : name === w('severity') ? t(c.key) : c.name), int(c.count)]), [1]);
  return `${letterhead(r, w('handling_title'))}
    <h2>${esc(w('s_summary'))}</h2>
    <div class="kpis">${kpi(r.total, w('total'))}${kpi(resolved, w('resolved'))}${kpi(r.open_at_end_total, w('open_end'))}
      ${kpi(d.ack_breaches, w('ack_late'))}${kpi(d.resolve_breaches, w('resolve_late'))}${kpi(d.escalations, w('escalations'))}</div>
    ${table([w('times'), w('median'), w('p90')], [
      [esc(w('t_ack')), duration(r.ack_median_s), duration(r.ack_p90_s)],
      [esc(w('t_dispatch')), duration(r.dispatch_median_s), duration(r.dispatch_p90_s)],
      [esc(w('t_resolve')), duration(r.resolve_median_s), duration(r.resolve_p90_s)]], [1, 2])}
    <p class="note">${esc(w('auto_cleared', { n: int(r.auto_cleared) }))}</p>
    <h2>${esc(w('s_per_day'))}</h2>
    ${perDayChart(r.per_day)}
    <h2>${esc(w('s_agency'))}</h2>
    ${table([w('agency'), w('received'), w('on_time'), w('late'), w('outstanding'), w('overdue'), w('transferred'), w('median_resolve')],
      r.by_agency.map((a) => [esc(a.name), int(a.received), int(a.on_time), int(a.late), int(a.outstanding), int(a.overdue), int(a.transferred), duration(a.resolve_median_s)]), [1, 2, 3, 4, 5, 6, 7])}
    <h2>${esc(w('s_kinds'))}</h2>
    <div class="cols">${counts(r.by_category, w('category'))}${counts(r.by_severity, w('severity'))}${counts(r.by_area, w('area'))}</div>
    <h2>${esc(w('s_open'))}</h2>
    ${table([w('id'), w('state'), w('severity'), w('category'), w('subject'), w('agency'), w('opened'), w('age')],
      r.open_at_end_oldest.map((o) => [int(o.id), esc(t(`state_${o.state}`)), esc(t(o.severity)), esc(o.category ? t(`cat_${o.category}`) : ''),
        esc(o.subject), esc(o.agency ?? ''), esc(stamp(o.opened)), `<span class="${o.overdue ? 'bad' : ''}">${duration(o.age_s)}</span>`]), [0, 7])}
    ${r.open_at_end_total > r.open_at_end_oldest.length ? `<p class="note">${esc(w('oldest', { n: r.open_at_end_oldest.length, total: r.open_at_end_total }))}</p>` : ''}
    <h2>${esc(w('s_def'))}</h2>
    ${definitions(r.definitions)}
    ${signatures()}`;
}

function supply(r) {
  const shares = (s) => [pct(s.complete), pct(s.correct), pct(s.clean), pct(s.live)];
  return `${letterhead(r, w('supply_title'))}
    <h2>${esc(w('s_systems'))}</h2>
    ${table([w('system'), w('owner'), w('devices'), w('expected'), w('got'), w('complete'), w('correct'), w('clean'), w('live'), w('outages')],
      r.systems.map((s) => [esc(named(s.name)), esc(s.owner ?? ''), int(s.devices), int(s.expected), int(s.received), ...shares(s), int(s.outages)]), [2, 3, 4, 5, 6, 7, 8, 9])}
    <p class="note">${esc(w('thresholds', { live: duration(r.live_within_s), out: duration(r.outage_after_s) }))}</p>
    <h2>${esc(w('s_chart'))}</h2>
    ${sharesChart(r.systems)}
    <h2>${esc(w('s_outages'))}</h2>
    ${table([w('device'), w('system'), w('start'), w('end'), w('length')],
      r.outages.slice(0, 50).map((o) => [esc(o.device), esc(o.system), esc(stamp(o.start)), esc(o.end ? stamp(o.end) : w('running')), duration(o.length_s)]), [4])}
    <h2>${esc(w('s_def_supply'))}</h2>
    ${definitions(r.definitions)}
    ${signatures()}
    <section class="appendix">
    <h2>${esc(w('s_devices'))}</h2>
    ${table([w('device'), w('system'), w('interval'), w('expected'), w('got'), w('rejected'), w('duplicates'), w('out_of_range'), w('complete'), w('correct'), w('clean'), w('live'), w('latency'), w('outages')],
      r.devices.map((d) => [`${esc(d.device)}${d.name ? `<small>${esc(d.name)}</small>` : ''}`, esc(d.system),
        `${duration(d.interval_s)}${d.interval_source === 'learned' ? ` (${esc(w('learned'))})` : ''}`,
        int(d.expected), int(d.received), int(d.rejected), int(d.duplicates), int(d.out_of_range), ...shares(d), duration(d.latency_median_s), int(d.outages)]),
      [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])}
    </section>`;
}

async function load() {
  const el = document.getElementById('report');
  const issued = q.get('issued');
  const kind = q.get('kind') === 'data-supply' ? 'data-supply' : 'handling';
  const range = q.get('period') ? `period=${encodeURIComponent(q.get('period'))}` : `from=${encodeURIComponent(q.get('from') ?? '')}&to=${encodeURIComponent(q.get('to') ?? '')}`;
  const path = issued ? `/api/v1/reports/issued/${encodeURIComponent(issued)}` : `/api/v1/reports/${kind}?${range}`;
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (res.status === 401) { el.innerHTML = `<p class="error">${esc(w('unauthorized'))}</p>`; return; }
  const body = await res.json().catch(() => null);
  if (!res.ok) { el.innerHTML = `<p class="error">${esc(w('failed'))}: ${esc(body?.error?.message ?? res.status)}</p>`; return; }
  let footer = `<div class="issued">${esc(w('preview', { at: stamp(new Date().toISOString()) }))}</div>`;
  if (issued) {
    const list = await (await fetch('/api/v1/reports/issued', { credentials: 'same-origin' })).json().catch(() => []);
    const meta = Array.isArray(list) ? list.find((x) => String(x.id) === issued) : null;
    footer = `<div class="issued">${esc(w('issued', { v: meta?.version ?? '?', at: meta ? stamp(meta.issued_at) : '', by: meta?.issued_by ?? '', sha: res.headers.get('x-iochub-sha256') ?? '' }))}</div>`;
  }
  // The issue note closes the report proper, before an appendix.
  const html = body.kind === 'data_supply' ? supply(body) : handling(body);
  const at = html.indexOf('<section class="appendix">');
  el.innerHTML = at < 0 ? html + footer : html.slice(0, at) + footer + html.slice(at);
  document.title = `${w('report')} · ${body.period.label}`;
  el.setAttribute('aria-busy', 'false');
  const csv = document.querySelector('[data-link=csv]');
  csv.href = issued ? `${path}?format=csv` : `${path}&format=csv`;
  document.body.dataset.ready = '1';
}

function chrome() {
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = w(el.dataset.t);
  const other = vi() ? 'en' : 'vi';
  const lang = document.querySelector('[data-link=lang]');
  const next = new URLSearchParams(location.search); next.set('lang', other);
  lang.href = `?${next}`; lang.textContent = w('lang');
  document.querySelector('[data-action=print]').addEventListener('click', () => window.print());
}

chrome();
load().catch((e) => {
  document.getElementById('report').innerHTML = `<p class="error">${esc(w('failed'))}: ${esc(e.message)}</p>`;
});
