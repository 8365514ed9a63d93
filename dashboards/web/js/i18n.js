// Languages: Vietnamese first (the glossary in docs/ARCHITECTURE.md, "Dashboard"), English as the alternative. Static labels carry
// data-i18n="key" (text), data-i18n-title / data-i18n-placeholder / data-i18n-aria (attributes);
// dynamic content is rendered with t() and re-rendered on appEvents' "langchange". The choice is kept
// in localStorage. Dates and numbers go through Intl in the chosen locale.

import { appEvents } from './events.js';
import { metricInfo, ruleInfo, ruleTitle } from './catalog.js';

const DICT = {
  vi: {
    app_title: 'Trung tâm giám sát, điều hành thông minh',
    app_sub: 'Giám sát thiết bị IoT — tỉnh',
    login_title: 'Đăng nhập',
    login_user: 'Tên đăng nhập',
    login_pass: 'Mật khẩu',
    login_submit: 'Đăng nhập',
    login_busy: 'Đang đăng nhập…',
    login_wrong: 'Sai tên đăng nhập hoặc mật khẩu.',
    login_expired: 'Phiên đăng nhập đã hết hạn. Vui lòng đăng nhập lại.',
    login_unreachable: 'Không kết nối được tới máy chủ. Vui lòng thử lại.',
    login_failed: 'Đăng nhập không thành công',
    admin_open: 'Quản trị',
    admin_title: 'Quản trị hệ thống',
    admin_accounts: 'Tài khoản',
    admin_audit: 'Nhật ký hoạt động',
    admin_reports: 'Báo cáo',
    admin_rules: 'Quy tắc cảnh báo',
    rules_active: 'Quy tắc đang áp dụng', rules_id: 'Mã quy tắc', rules_kind: 'Kiểu', rules_metric: 'Chỉ tiêu',
    rules_severity: 'Mức độ', rules_category: 'Loại sự cố', rules_open: 'Cảnh báo chưa xử lý xong', rules_none: 'Chưa có quy tắc nào.',
    rules_kind_threshold: 'Ngưỡng', rules_kind_no_data: 'Mất dữ liệu', rules_kind_rate: 'Tốc độ thay đổi', rules_kind_window: 'Tích lũy theo cửa sổ',
    rules_kind_anomaly: 'Bất thường', rules_kind_all: 'Kết hợp điều kiện', rules_any_metric: 'mọi chỉ tiêu',
    agg_sum: 'tổng', agg_avg: 'trung bình', agg_min: 'thấp nhất trong', agg_max: 'cao nhất trong',
    agg_count: 'số lần đo trong', agg_spread: 'chênh lệch trong', measure_change: 'thay đổi trong',
    measure_anomaly: 'lệch khỏi diễn biến gần đây', measure_all: 'cùng các điều kiện khác',
    measure_silence: 'Thời gian không có dữ liệu', span_h: 'giờ', span_min: 'phút', span_s: 'giây',
    rules_edit: 'Tệp quy tắc', rules_edit_hint: 'Sửa hoặc dán quy tắc (TOML), kiểm tra, chạy thử trên dữ liệu đã lưu rồi mới lưu và áp dụng.',
    rules_validate: 'Kiểm tra', rules_backtest: 'Chạy thử', rules_save: 'Lưu và áp dụng', rules_days: 'Dữ liệu',
    rules_days_1: '1 ngày qua', rules_days_7: '7 ngày qua', rules_days_30: '30 ngày qua',
    rules_valid: 'Hợp lệ:', rules_count: 'quy tắc', rules_invalid: 'Không hợp lệ', rules_rule: 'quy tắc', rules_field: 'trường',
    rules_devices: 'thiết bị', rules_devices_done: 'thiết bị', rules_readings: 'bản ghi', rules_eta: 'còn khoảng',
    rules_opened: 'Số lần phát cảnh báo', rules_in_alert: 'Thời gian cảnh báo', rules_share: 'Tỷ lệ thời gian', rules_when: 'Xem thời điểm',
    rules_backtested: 'Đã chạy thử', rules_alerts_of: 'Các lần phát cảnh báo của', rules_still_open: 'vẫn còn', rules_saved: 'Đã lưu và áp dụng',
    report_pick: 'Báo cáo định kỳ', report_kind: 'Loại báo cáo', report_span: 'Kỳ báo cáo',
    report_kind_handling: 'Tình hình xử lý cảnh báo', 'report_kind_data-supply': 'Tình hình cung cấp dữ liệu',
    report_span_month: 'Tháng', report_span_quarter: 'Quý', report_span_half: '6 tháng', report_span_year: 'Năm', report_span_range: 'Khoảng ngày',
    report_month: 'Tháng', report_year: 'Năm', report_quarter: 'Quý', report_half: 'Nửa năm', report_from: 'Từ ngày', report_to: 'Đến ngày',
    report_view: 'Xem bản in', report_csv: 'Tải CSV', report_issue: 'Phát hành', report_issued: 'Báo cáo đã phát hành',
    report_period: 'Kỳ', report_version: 'Phiên bản', report_issued_at: 'Phát hành lúc', report_issued_by: 'Người phát hành',
    report_by_system: 'Hệ thống (cuối kỳ)', report_none: 'Chưa có báo cáo nào được phát hành.', report_issued_ok: 'Đã phát hành',
    admin_issue: 'Cấp tài khoản mới',
    admin_issue_submit: 'Cấp tài khoản',
    admin_display_name: 'Họ và tên',
    admin_role: 'Vai trò',
    admin_agency: 'Cơ quan',
    admin_state: 'Trạng thái',
    admin_last_active: 'Hoạt động gần nhất',
    admin_totp: 'Xác thực 2 lớp',
    admin_actions: 'Thao tác',
    admin_search: 'Tìm tài khoản',
    admin_temporary: 'Mật khẩu tạm thời (chỉ hiện lần này, cần đổi khi đăng nhập) của',
    admin_refused: 'Không thực hiện được',
    admin_agencies: 'Cơ quan xử lý',
    admin_tokens: 'Khóa API tích hợp',
    admin_areas: 'Phạm vi địa bàn',
    admin_areas_hint: 'Không chọn = toàn tỉnh; giữ Ctrl để chọn nhiều xã, phường',
    admin_all_areas: 'Toàn tỉnh',
    admin_contact: 'Liên hệ',
    admin_no_agency: '(không thuộc cơ quan)',
    admin_edit: 'Sửa tài khoản',
    admin_save: 'Lưu',
    admin_cancel: 'Hủy',
    act_edit: 'Sửa',
    done_edit: 'Đã lưu tài khoản',
    agency_new: 'Thêm cơ quan',
    agency_edit: 'Sửa cơ quan',
    agency_add: 'Thêm',
    agency_id: 'Mã',
    agency_name: 'Tên cơ quan',
    agency_kind: 'Loại',
    agency_area: 'Địa bàn',
    agency_whole_province: 'Toàn tỉnh',
    agency_contacts: 'Đầu mối liên hệ',
    agency_contact_name: 'Họ tên / bộ phận',
    agency_contact_title: 'Chức vụ',
    agency_contact_phone: 'Điện thoại',
    agency_contact_email: 'Thư điện tử',
    agency_contact_add: '+ Thêm đầu mối',
    agency_contact_remove: 'Bỏ đầu mối này',
    agency_webhook: 'Chuyển cảnh báo tự động (webhook)',
    agency_webhook_url: 'Địa chỉ nhận (URL)',
    agency_webhook_secret: 'Khóa ký (chỉ ghi, không hiển thị lại)',
    agency_webhook_remove: 'Bỏ webhook',
    agency_secret_keep: 'Để trống để giữ khóa hiện tại',
    agency_secret_new: 'Bắt buộc khi có địa chỉ nhận',
    agency_secret_set: 'đã đặt khóa ký',
    done_agency_add: 'Đã thêm cơ quan',
    done_agency_edit: 'Đã lưu cơ quan',
    kind_police: 'Công an',
    kind_fire_rescue: 'Cảnh sát PCCC và CNCH',
    kind_health: 'Y tế',
    kind_environment: 'Nông nghiệp và Môi trường',
    kind_water: 'Thủy lợi, phòng chống thiên tai',
    kind_traffic: 'Xây dựng, giao thông',
    kind_civil_defense: 'Phòng thủ dân sự',
    kind_commune: 'UBND xã, phường',
    kind_other: 'Khác',
    token_new: 'Cấp khóa API cho hệ thống tích hợp',
    token_name: 'Tên khóa',
    token_account: 'Tài khoản tích hợp',
    token_permissions: 'Quyền',
    token_all_permissions: 'Mọi quyền của vai trò tích hợp',
    token_permissions_hint: '(không chọn = mọi quyền của vai trò tích hợp)',
    token_days: 'Hiệu lực (ngày)',
    token_issue: 'Cấp khóa',
    token_no_integrator: 'Chưa có tài khoản vai trò “Hệ thống tích hợp” đang hoạt động: cấp tài khoản đó trước ở thẻ Tài khoản.',
    token_shown_once: 'Khóa API mới (chỉ hiện lần này; gửi kèm tiêu đề Authorization: Bearer …). Hãy sao chép và lưu giữ an toàn:',
    token_created: 'Cấp lúc',
    token_expires: 'Hết hạn',
    token_last_used: 'Dùng gần nhất',
    token_state_active: 'Còn hiệu lực',
    token_state_expired: 'Hết hạn',
    token_state_revoked: 'Đã thu hồi',
    done_token_issue: 'Đã cấp khóa API',
    done_token_revoke: 'Đã thu hồi khóa API',
    perm_devices_read: 'Đọc thiết bị và số liệu',
    perm_devices_write: 'Đăng ký, sửa thiết bị',
    perm_system_read: 'Số liệu vận hành',
    role_admin: 'Quản trị viên',
    role_supervisor: 'Trưởng ca',
    role_operator: 'Trực ban',
    role_agency_handler: 'Cán bộ cơ quan xử lý',
    role_viewer: 'Chỉ xem',
    role_integrator: 'Hệ thống tích hợp',
    state_active: 'Đang hoạt động',
    state_locked: 'Đã khóa',
    state_revoked: 'Đã thu hồi',
    act_lock: 'Khóa',
    act_unlock: 'Mở khóa',
    act_reset_password: 'Đặt lại mật khẩu',
    act_reset_totp: 'Xóa xác thực 2 lớp',
    act_revoke: 'Thu hồi',
    act_revoke_confirm: 'Xác nhận thu hồi vĩnh viễn',
    done_lock: 'Đã khóa tài khoản (các phiên đã kết thúc)',
    done_unlock: 'Đã mở khóa tài khoản',
    done_reset_totp: 'Đã xóa xác thực 2 lớp',
    done_revoke: 'Đã thu hồi tài khoản',
    audit_actor: 'Người thực hiện',
    audit_action: 'Hành động',
    audit_from: 'Từ ngày',
    audit_to: 'Đến ngày',
    audit_apply: 'Lọc',
    audit_export: 'Xuất CSV',
    audit_time: 'Thời gian',
    audit_address: 'Địa chỉ',
    audit_target: 'Đối tượng',
    audit_result: 'Kết quả',
    login_totp: 'Mã xác thực (6 số) hoặc mã khôi phục',
    login_totp_needed: 'Tài khoản có xác thực hai lớp: nhập mã trong ứng dụng xác thực.',
    totp_title: 'Bật xác thực hai lớp',
    totp_intro: 'Vai trò của bạn cần xác thực hai lớp. Thêm tài khoản vào ứng dụng xác thực (Google Authenticator, Microsoft Authenticator, FreeOTP…) bằng cách quét mã QR, mở liên kết hoặc nhập khóa bí mật dưới đây, rồi nhập mã 6 số mà ứng dụng hiển thị.',
    totp_open_app: 'Mở trong ứng dụng xác thực',
    totp_secret: 'Khóa bí mật (nhập tay nếu cần)',
    totp_code: 'Mã 6 số',
    totp_confirm: 'Xác nhận',
    totp_wrong: 'Mã không đúng. Kiểm tra đồng hồ của điện thoại và thử mã mới.',
    totp_codes_intro: 'Đã bật. Đây là 10 mã khôi phục, mỗi mã dùng được một lần khi không có điện thoại. Hãy in hoặc ghi lại và cất giữ an toàn: chúng chỉ hiển thị lần này.',
    totp_codes_saved: 'Tôi đã lưu các mã, tiếp tục',
    pw_title: 'Đổi mật khẩu',
    pw_intro: 'Tài khoản cần đặt mật khẩu mới của riêng bạn trước khi tiếp tục.',
    pw_current: 'Mật khẩu hiện tại',
    pw_new: 'Mật khẩu mới',
    pw_confirm: 'Nhập lại mật khẩu mới',
    pw_rules: 'Từ 12 đến 128 ký tự; có thể là một câu dễ nhớ. Không dùng mật khẩu phổ biến hoặc chứa tên đăng nhập.',
    pw_submit: 'Đổi mật khẩu',
    pw_too_short: 'Mật khẩu mới phải có ít nhất 12 ký tự.',
    pw_too_long: 'Mật khẩu mới được dài tối đa 128 ký tự.',
    pw_common: 'Mật khẩu này quá phổ biến; hãy chọn mật khẩu khác.',
    pw_contains_username: 'Mật khẩu không được chứa tên đăng nhập.',
    pw_classes: 'Mật khẩu cần kết hợp chữ thường, chữ hoa, chữ số và ký tự khác.',
    pw_reused: 'Mật khẩu này đã được dùng gần đây; hãy chọn mật khẩu khác.',
    pw_unchanged: 'Mật khẩu mới phải khác mật khẩu hiện tại.',
    pw_mismatch: 'Hai lần nhập mật khẩu mới không khớp.',
    pw_current_wrong: 'Mật khẩu hiện tại không đúng.',
    logout: 'Đăng xuất',
    lang_toggle: 'English',
    lang_toggle_title: 'Chuyển sang tiếng Anh',
    banner_unreachable: 'Mất kết nối tới máy chủ, đang kết nối lại…',
    banner_lagged: 'Dữ liệu trực tiếp bị dồn, đang tải lại danh sách…',
    banner_expired_wall: 'Phiên đăng nhập đã hết hạn — cần đăng nhập lại trên màn hình này.',
    live: 'Trực tiếp',
    reconnecting: 'Đang kết nối lại',
    alerts: 'Cảnh báo',
    open_alerts: 'Cảnh báo cần xử lý',
    no_alerts: 'Không có cảnh báo nào cần xử lý.',
    devices: 'Thiết bị',
    map: 'Bản đồ',
    severity: 'Mức độ',
    critical: 'Nghiêm trọng',
    warning: 'Cảnh báo',
    info: 'Thông tin',
    online: 'Trực tuyến',
    offline: 'Mất kết nối',
    state_open: 'Mới',
    state_acknowledged: 'Đã tiếp nhận',
    state_dispatched: 'Đã chuyển xử lý',
    state_in_progress: 'Đang xử lý',
    state_resolved: 'Đã xử lý',
    state_closed: 'Đã đóng',
    state_unresolved: 'Chưa xử lý xong',
    all: 'Tất cả',
    console_open: 'Xử lý cảnh báo',
    console_title: 'Xử lý cảnh báo',
    console_empty: 'Không có cảnh báo nào khớp bộ lọc.',
    f_state: 'Trạng thái', f_severity: 'Mức độ', f_category: 'Loại sự cố', f_agency: 'Cơ quan xử lý',
    f_area: 'Địa bàn', f_from: 'Từ ngày', f_to: 'Đến ngày',
    c_alert: 'Cảnh báo', c_place: 'Địa điểm', c_deadline: 'Thời hạn', c_opened: 'Phát sinh', c_value: 'Giá trị đo',
    select_all: 'Chọn tất cả', select: 'Chọn', selected_n: 'Đã chọn {n} cảnh báo',
    cat_flood: 'Lũ, ngập lụt', cat_landslide: 'Sạt lở', cat_forest_fire: 'Cháy rừng', cat_air_pollution: 'Ô nhiễm không khí',
    cat_equipment: 'Sự cố thiết bị', cat_other: 'Khác',
    field_report: 'Báo cáo hiện trường',
    act_acknowledge: 'Tiếp nhận', act_dispatch: 'Chuyển xử lý', act_dispatch_route: 'Chuyển xử lý theo tuyến',
    act_start: 'Bắt đầu xử lý', act_resolve: 'Báo cáo đã xử lý', act_close: 'Đóng', act_reopen: 'Mở lại',
    act_comment: 'Gửi ý kiến', act_assign: 'Giao cho',
    dispatch_by_route: 'Cơ quan theo tuyến chuyển xử lý',
    note: 'Ghi chú', resolution: 'Kết quả xử lý',
    res_handled: 'Đã xử lý xong', res_false_alarm: 'Báo động sai', res_duplicate: 'Trùng lặp', res_auto_cleared: 'Tự hết (trước khi chuyển xử lý)',
    assign_user: 'Tên đăng nhập người xử lý', comment_text: 'Ý kiến, tình hình xử lý…', attach_photo: 'Đính kèm ảnh', photo: 'Ảnh hiện trường',
    timeline: 'Diễn biến', deliveries: 'Gửi tới hệ thống của cơ quan',
    del_pending: 'đang gửi', del_delivered: 'đã nhận', del_dead: 'không gửi được', attempts: 'số lần gửi',
    ev_opened: 'Phát sinh cảnh báo', ev_rebreached: 'Vượt ngưỡng lại', ev_cleared: 'Hết vượt ngưỡng', ev_auto_resolved: 'Tự hết, đóng tự động',
    ev_acknowledge: 'Tiếp nhận', ev_dispatch: 'Chuyển xử lý', ev_start: 'Bắt đầu xử lý', ev_resolve: 'Đã xử lý', ev_close: 'Đóng',
    ev_reopen: 'Mở lại', ev_comment: 'Ý kiến', ev_assign: 'Giao xử lý', ev_escalated: 'Quá hạn, báo cấp trên',
    ev_delivered: 'Cơ quan đã nhận', ev_delivery_failed: 'Không gửi được tới cơ quan', ev_reported: 'Tiếp nhận báo cáo hiện trường',
    system: 'hệ thống',
    condition_active: 'đang vượt ngưỡng', condition_cleared: 'đã hết vượt ngưỡng',
    flapping: 'dao động', flapping_hint: 'Điều kiện liên tục xuất hiện rồi hết: cảnh báo được giữ mở, không báo lại cho đến khi ổn định.',
    undelivered: 'Chưa gửi được tới cơ quan — cần liên hệ trực tiếp',
    show_on_map: 'Xem trên bản đồ', assignee: 'Người xử lý',
    ack_deadline: 'Hạn tiếp nhận', resolve_deadline: 'Hạn xử lý', escalations: 'Số lần báo quá hạn',
    due_in: 'còn {t}', overdue_by: 'quá hạn {t}', unit_minutes: 'phút', unit_hours: 'giờ',
    reason_not_acknowledged: 'chưa được tiếp nhận', reason_not_resolved_by_its_deadline: 'chưa xử lý xong đúng hạn',
    urgent_strip: '⚠ {n} cảnh báo nghiêm trọng chưa được tiếp nhận — bấm để xử lý',
    notice_escalated: 'Cảnh báo #{id} quá hạn: {why}',
    notice_undelivered: 'Cảnh báo #{id}: không gửi được tới {agencies} — cần liên hệ trực tiếp',
    legend_unacknowledged: 'Chưa tiếp nhận', legend_with_agency: 'Đã chuyển cơ quan xử lý',
    sound_on: 'Âm báo: bật',
    sound_off: 'Âm báo: tắt',
    sound_title: 'Phát âm báo khi có cảnh báo nghiêm trọng',
    legend: 'Chú giải',
    illustrative: 'Ranh giới minh họa, không phải ranh giới chính thức',
    illustrative_short: 'minh họa',
    offline_basemap: 'Nền bản đồ ngoại tuyến: Natural Earth',
    // device panel
    panel_close: 'Đóng',
    device_key: 'Mã thiết bị',
    device_name: 'Tên',
    location: 'Vị trí',
    status: 'Trạng thái',
    last_seen: 'Lần cuối nhận dữ liệu',
    latest_values: 'Giá trị mới nhất',
    last_24h: '24 giờ qua',
    no_data: 'Chưa có dữ liệu',
    loading: 'Đang tải…',
    threshold: 'Ngưỡng',
    device_alerts: 'Cảnh báo của thiết bị',
    unnamed: '(chưa đặt tên)',
    unknown_position: 'chưa có vị trí',
    // areas
    area_tools: 'Khu vực',
    area_pick: 'Đơn vị hành chính',
    area_choose: '— chọn khu vực —',
    area_radius: 'Bán kính',
    area_radius_hint: 'Nhấn vào bản đồ để chọn tâm',
    area_polygon: 'Đa giác',
    area_polygon_hint: 'Nhấn để thêm đỉnh, nhấn đúp để kết thúc',
    area_finish: 'Kết thúc',
    area_clear: 'Xóa chọn',
    area_metric: 'Chỉ số',
    area_none: '(không)',
    area_result: 'Kết quả',
    area_devices: 'Số thiết bị',
    area_breaches: 'Thiết bị vượt ngưỡng',
    area_no_breaches: 'Không có thiết bị vượt ngưỡng.',
    area_unavailable: 'Máy chủ chưa hỗ trợ tổng hợp theo khu vực.',
    area_error: 'Không tính được tổng hợp',
    km: 'km',
    min: 'Thấp nhất', avg: 'Trung bình', max: 'Cao nhất', count: 'Số mẫu',
    // An administrative area by its level (two-level local government since July 2025: the
    // province, then wards, communes and special zones); {name} is the area's bare name.
    area_province: 'tỉnh {name}', area_ward: 'phường {name}', area_commune: 'xã {name}', area_special_zone: 'đặc khu {name}',
    // wall
    wall_devices_online: 'Thiết bị trực tuyến',
    wall_cameras: 'Camera',
    wall_layouts_open: 'Tường video', wall_layouts_title: 'Bố cục tường video',
    wall_layout_saved_list: 'Bố cục đã lưu', wall_layout_new: '— Bố cục mới —', wall_layout_name: 'Tên bố cục',
    wall_layout_size: 'Số ô', wall_layout_save: 'Lưu bố cục', wall_layout_delete: 'Xóa bố cục',
    wall_layout_open_wall: 'Mở trên màn hình tường', wall_layout_empty_tile: '— Ô trống —',
    wall_layout_help: 'Kéo camera từ danh sách vào một ô, hoặc chọn camera ngay trong ô. Kéo một ô sang ô khác để đổi chỗ.',
    wall_layout_saved: 'Đã lưu bố cục “{name}”.', wall_layout_deleted: 'Đã xóa bố cục “{name}”.',
    wall_layout_delete_confirm: 'Xóa bố cục “{name}”?', wall_layout_need_name: 'Hãy đặt tên cho bố cục.',
    wall_layout_by: 'Lưu lần cuối bởi {user}, lúc {time}', wall_layout_no_cameras: 'Chưa có camera nào.',
    wall_layout_missing: 'không còn hoặc ngoài phạm vi', wall_layout_tile: 'Ô {n}', wall_layout_clear: 'Bỏ camera khỏi ô',
    camera_live: 'Hình ảnh trực tiếp', camera_nearest: 'Camera gần nhất',
    cam_unsupported: 'Trình duyệt này không phát được mã hóa của camera',
    cam_state_idle: 'Chờ', cam_state_connecting: 'Đang kết nối', cam_state_online: 'Trực tuyến',
    cam_state_stalled: 'Mất hình', cam_state_offline: 'Mất kết nối', cam_fps: 'hình/giây',
    cam_frozen: 'Hình bị đứng', cam_dark: 'Hình tối/bị che', cam_stills: 'ảnh tĩnh',
    wall_devices_offline: 'Mất kết nối',
    wall_clock: 'Giờ',
    ago_now: 'vừa xong',
  },
  en: {
    app_title: 'Intelligent Operations Center',
    app_sub: 'IoT device monitoring — province of',
    login_title: 'Sign in',
    login_user: 'Username',
    login_pass: 'Password',
    login_submit: 'Sign in',
    login_busy: 'Signing in…',
    login_wrong: 'Wrong username or password.',
    login_expired: 'Your session has expired. Please sign in again.',
    login_unreachable: 'Cannot reach the server. Please try again.',
    login_failed: 'Sign-in failed',
    admin_open: 'Admin',
    admin_title: 'Administration',
    admin_accounts: 'Accounts',
    admin_audit: 'Audit trail',
    admin_reports: 'Reports',
    admin_rules: 'Alert rules',
    rules_active: 'Rules in force', rules_id: 'Rule id', rules_kind: 'Kind', rules_metric: 'Metric',
    rules_severity: 'Severity', rules_category: 'Category', rules_open: 'Unresolved alerts', rules_none: 'No rules yet.',
    rules_kind_threshold: 'Threshold', rules_kind_no_data: 'No data', rules_kind_rate: 'Rate of change', rules_kind_window: 'Window aggregate',
    rules_kind_anomaly: 'Anomaly', rules_kind_all: 'All conditions', rules_any_metric: 'any metric',
    agg_sum: 'total over', agg_avg: 'mean over', agg_min: 'lowest over', agg_max: 'highest over',
    agg_count: 'readings over', agg_spread: 'spread over', measure_change: 'change within',
    measure_anomaly: 'off its recent course', measure_all: 'with the other conditions',
    measure_silence: 'Silent for', span_h: 'h', span_min: 'min', span_s: 's',
    rules_edit: 'Rules file', rules_edit_hint: 'Edit or paste rules (TOML), check them, try them on the stored readings, then save and apply.',
    rules_validate: 'Check', rules_backtest: 'Backtest', rules_save: 'Save and apply', rules_days: 'Data',
    rules_days_1: 'last day', rules_days_7: 'last 7 days', rules_days_30: 'last 30 days',
    rules_valid: 'Valid:', rules_count: 'rules', rules_invalid: 'Invalid', rules_rule: 'rule', rules_field: 'field',
    rules_devices: 'devices', rules_devices_done: 'devices', rules_readings: 'readings', rules_eta: 'about',
    rules_opened: 'Alerts opened', rules_in_alert: 'Time in alert', rules_share: 'Share of time', rules_when: 'Show when',
    rules_backtested: 'Backtested', rules_alerts_of: 'Alerts of', rules_still_open: 'still open', rules_saved: 'Saved and applied',
    report_pick: 'Periodic reports', report_kind: 'Report', report_span: 'Period',
    report_kind_handling: 'Alert handling', 'report_kind_data-supply': 'Data supply',
    report_span_month: 'Month', report_span_quarter: 'Quarter', report_span_half: 'Half-year', report_span_year: 'Year', report_span_range: 'Days',
    report_month: 'Month', report_year: 'Year', report_quarter: 'Quarter', report_half: 'Half', report_from: 'From', report_to: 'To',
    report_view: 'Printable page', report_csv: 'Download CSV', report_issue: 'Issue', report_issued: 'Issued reports',
    report_period: 'Period', report_version: 'Version', report_issued_at: 'Issued at', report_issued_by: 'Issued by',
    report_by_system: 'The hub (period end)', report_none: 'No report issued yet.', report_issued_ok: 'Issued',
    admin_issue: 'Issue an account',
    admin_issue_submit: 'Issue',
    admin_display_name: 'Full name',
    admin_role: 'Role',
    admin_agency: 'Agency',
    admin_state: 'State',
    admin_last_active: 'Last active',
    admin_totp: 'Two-factor',
    admin_actions: 'Actions',
    admin_search: 'Find an account',
    admin_temporary: 'Temporary password (shown only now; to be changed at sign-in) of',
    admin_refused: 'Not done',
    admin_agencies: 'Agencies',
    admin_tokens: 'API tokens',
    admin_areas: 'Area scope',
    admin_areas_hint: 'None = the whole province; hold Ctrl to pick several communes or wards',
    admin_all_areas: 'Whole province',
    admin_contact: 'Contact',
    admin_no_agency: '(no agency)',
    admin_edit: 'Edit the account',
    admin_save: 'Save',
    admin_cancel: 'Cancel',
    act_edit: 'Edit',
    done_edit: 'Account saved',
    agency_new: 'Add an agency',
    agency_edit: 'Edit the agency',
    agency_add: 'Add',
    agency_id: 'Id',
    agency_name: 'Agency name',
    agency_kind: 'Kind',
    agency_area: 'Area',
    agency_whole_province: 'Whole province',
    agency_contacts: 'Contacts',
    agency_contact_name: 'Name / desk',
    agency_contact_title: 'Title',
    agency_contact_phone: 'Phone',
    agency_contact_email: 'Email',
    agency_contact_add: '+ Add a contact',
    agency_contact_remove: 'Remove this contact',
    agency_webhook: 'Automatic forwarding (webhook)',
    agency_webhook_url: 'Receiving URL',
    agency_webhook_secret: 'Signing secret (write-only, never shown back)',
    agency_webhook_remove: 'Remove the webhook',
    agency_secret_keep: 'Leave empty to keep the current secret',
    agency_secret_new: 'Required with a receiving URL',
    agency_secret_set: 'signing secret set',
    done_agency_add: 'Agency added',
    done_agency_edit: 'Agency saved',
    kind_police: 'Police',
    kind_fire_rescue: 'Fire and rescue',
    kind_health: 'Health',
    kind_environment: 'Agriculture and environment',
    kind_water: 'Water resources, disaster prevention',
    kind_traffic: 'Construction, traffic',
    kind_civil_defense: 'Civil defence',
    kind_commune: 'Commune or ward People\'s Committee',
    kind_other: 'Other',
    token_new: 'Issue an API token to an integrated system',
    token_name: 'Token name',
    token_account: 'Integrator account',
    token_permissions: 'Permissions',
    token_all_permissions: 'Everything the integrator role may',
    token_permissions_hint: '(none ticked = everything the integrator role may)',
    token_days: 'Valid for (days)',
    token_issue: 'Issue',
    token_no_integrator: 'No active account with the role “Integrated system” yet: issue one on the Accounts tab first.',
    token_shown_once: 'The new API token (shown only now; send it as Authorization: Bearer …). Copy it and keep it safe:',
    token_created: 'Issued',
    token_expires: 'Expires',
    token_last_used: 'Last used',
    token_state_active: 'Valid',
    token_state_expired: 'Expired',
    token_state_revoked: 'Revoked',
    done_token_issue: 'API token issued',
    done_token_revoke: 'API token revoked',
    perm_devices_read: 'Read devices and readings',
    perm_devices_write: 'Register and edit devices',
    perm_system_read: 'Operations data',
    role_admin: 'Administrator',
    role_supervisor: 'Duty supervisor',
    role_operator: 'Operator',
    role_agency_handler: 'Agency handler',
    role_viewer: 'Viewer',
    role_integrator: 'Integrated system',
    state_active: 'Active',
    state_locked: 'Locked',
    state_revoked: 'Revoked',
    act_lock: 'Lock',
    act_unlock: 'Unlock',
    act_reset_password: 'Reset password',
    act_reset_totp: 'Clear two-factor',
    act_revoke: 'Revoke',
    act_revoke_confirm: 'Confirm: revoke for good',
    done_lock: 'Account locked (its sessions ended)',
    done_unlock: 'Account unlocked',
    done_reset_totp: 'Two-factor cleared',
    done_revoke: 'Account revoked',
    audit_actor: 'Actor',
    audit_action: 'Action',
    audit_from: 'From',
    audit_to: 'To',
    audit_apply: 'Filter',
    audit_export: 'Export CSV',
    audit_time: 'Time',
    audit_address: 'Address',
    audit_target: 'Target',
    audit_result: 'Result',
    login_totp: 'Authentication code (6 digits) or recovery code',
    login_totp_needed: 'This account has two-factor authentication: enter the code from your authenticator app.',
    totp_title: 'Turn on two-factor authentication',
    totp_intro: 'Your role needs two-factor authentication. Add the account to an authenticator app (Google Authenticator, Microsoft Authenticator, FreeOTP…) by scanning the QR code, opening the link or typing the secret key below, then enter the 6-digit code the app shows.',
    totp_open_app: 'Open in the authenticator app',
    totp_secret: 'Secret key (to type in if needed)',
    totp_code: '6-digit code',
    totp_confirm: 'Confirm',
    totp_wrong: 'Wrong code. Check the phone\'s clock and try a new code.',
    totp_codes_intro: 'Turned on. These are 10 recovery codes, each good for one sign-in without your phone. Print or write them down and keep them safe: they are shown only now.',
    totp_codes_saved: 'I have saved the codes, continue',
    pw_title: 'Change password',
    pw_intro: 'This account needs a new password of your own before you continue.',
    pw_current: 'Current password',
    pw_new: 'New password',
    pw_confirm: 'New password again',
    pw_rules: '12 to 128 characters; a memorable sentence works. Not a common password, not containing the username.',
    pw_submit: 'Change password',
    pw_too_short: 'The new password needs at least 12 characters.',
    pw_too_long: 'The new password may have at most 128 characters.',
    pw_common: 'This password is too common; choose another.',
    pw_contains_username: 'The password must not contain the username.',
    pw_classes: 'The password must mix lower case, upper case, digits and other characters.',
    pw_reused: 'This password was used recently; choose another.',
    pw_unchanged: 'The new password must differ from the current one.',
    pw_mismatch: 'The two new passwords differ.',
    pw_current_wrong: 'The current password is wrong.',
    logout: 'Sign out',
    lang_toggle: 'Tiếng Việt',
    lang_toggle_title: 'Switch to Vietnamese',
    banner_unreachable: 'Lost connection to the server, reconnecting…',
    banner_lagged: 'Live data fell behind, reloading lists…',
    banner_expired_wall: 'Session expired — sign in again on this screen.',
    live: 'Live',
    reconnecting: 'Reconnecting',
    alerts: 'Alerts',
    open_alerts: 'Unresolved alerts',
    no_alerts: 'No unresolved alerts.',
    devices: 'Devices',
    map: 'Map',
    severity: 'Severity',
    critical: 'Critical',
    warning: 'Warning',
    info: 'Info',
    online: 'Online',
    offline: 'Offline',
    state_open: 'Open',
    state_acknowledged: 'Acknowledged',
    state_dispatched: 'Dispatched',
    state_in_progress: 'In progress',
    state_resolved: 'Resolved',
    state_closed: 'Closed',
    state_unresolved: 'Unresolved',
    all: 'All',
    console_open: 'Alert handling',
    console_title: 'Alert handling',
    console_empty: 'No alert matches the filters.',
    f_state: 'State', f_severity: 'Severity', f_category: 'Category', f_agency: 'Agency',
    f_area: 'Area', f_from: 'From', f_to: 'To',
    c_alert: 'Alert', c_place: 'Place', c_deadline: 'Deadline', c_opened: 'Opened', c_value: 'Reading',
    select_all: 'Select all', select: 'Select', selected_n: '{n} alerts selected',
    cat_flood: 'Flood', cat_landslide: 'Landslide', cat_forest_fire: 'Forest fire', cat_air_pollution: 'Air pollution',
    cat_equipment: 'Equipment fault', cat_other: 'Other',
    field_report: 'Field report',
    act_acknowledge: 'Acknowledge', act_dispatch: 'Dispatch', act_dispatch_route: 'Dispatch by route',
    act_start: 'Start handling', act_resolve: 'Report resolved', act_close: 'Close', act_reopen: 'Reopen',
    act_comment: 'Comment', act_assign: 'Assign',
    dispatch_by_route: 'The agencies of its route',
    note: 'Note', resolution: 'Resolution',
    res_handled: 'Handled', res_false_alarm: 'False alarm', res_duplicate: 'Duplicate', res_auto_cleared: 'Cleared by itself (before dispatch)',
    assign_user: 'Handler username', comment_text: 'Comment, progress…', attach_photo: 'Attach photo', photo: 'Field photo',
    timeline: 'Timeline', deliveries: 'Sent to the agencies\' systems',
    del_pending: 'sending', del_delivered: 'received', del_dead: 'failed', attempts: 'attempts',
    ev_opened: 'Opened', ev_rebreached: 'Breached again', ev_cleared: 'Condition cleared', ev_auto_resolved: 'Cleared by itself, resolved',
    ev_acknowledge: 'Acknowledged', ev_dispatch: 'Dispatched', ev_start: 'Handling started', ev_resolve: 'Resolved', ev_close: 'Closed',
    ev_reopen: 'Reopened', ev_comment: 'Comment', ev_assign: 'Assigned', ev_escalated: 'Escalated',
    ev_delivered: 'Received by the agency', ev_delivery_failed: 'Could not reach the agency', ev_reported: 'Field report received',
    system: 'system',
    condition_active: 'condition holds', condition_cleared: 'condition cleared',
    flapping: 'flapping', flapping_hint: 'The condition keeps coming and going: the alert is held open and not paged again until it settles.',
    undelivered: 'Not delivered to the agency — reach it directly',
    show_on_map: 'Show on map', assignee: 'Assignee',
    ack_deadline: 'Acknowledge by', resolve_deadline: 'Resolve by', escalations: 'Escalations',
    due_in: 'in {t}', overdue_by: 'overdue by {t}', unit_minutes: 'min', unit_hours: 'h',
    reason_not_acknowledged: 'not acknowledged', reason_not_resolved_by_its_deadline: 'not resolved by its deadline',
    urgent_strip: '⚠ {n} critical alerts not yet acknowledged — click to handle',
    notice_escalated: 'Alert #{id} escalated: {why}',
    notice_undelivered: 'Alert #{id}: could not reach {agencies} — contact them directly',
    legend_unacknowledged: 'Not acknowledged', legend_with_agency: 'With an agency',
    sound_on: 'Sound: on',
    sound_off: 'Sound: off',
    sound_title: 'Beep on critical alerts',
    legend: 'Legend',
    illustrative: 'Illustrative boundary, not an official one',
    illustrative_short: 'illustrative',
    offline_basemap: 'Offline basemap: Natural Earth',
    panel_close: 'Close',
    device_key: 'Device key',
    device_name: 'Name',
    location: 'Location',
    status: 'Status',
    last_seen: 'Last data',
    latest_values: 'Latest values',
    last_24h: 'Last 24 hours',
    no_data: 'No data yet',
    loading: 'Loading…',
    threshold: 'Threshold',
    device_alerts: 'Alerts of this device',
    unnamed: '(unnamed)',
    unknown_position: 'no position yet',
    area_tools: 'Areas',
    area_pick: 'Administrative area',
    area_choose: '— choose an area —',
    area_radius: 'Radius',
    area_radius_hint: 'Click the map to set the centre',
    area_polygon: 'Polygon',
    area_polygon_hint: 'Click to add vertices, double-click to finish',
    area_finish: 'Finish',
    area_clear: 'Clear',
    area_metric: 'Metric',
    area_none: '(none)',
    area_result: 'Result',
    area_devices: 'Devices',
    area_breaches: 'Devices past a threshold',
    area_no_breaches: 'No device past a threshold.',
    area_unavailable: 'The server does not support area summaries yet.',
    area_error: 'Could not compute the summary',
    km: 'km',
    min: 'Min', avg: 'Average', max: 'Max', count: 'Samples',
    area_province: '{name} province', area_ward: '{name} ward', area_commune: '{name} commune', area_special_zone: '{name} special zone',
    wall_devices_online: 'Devices online',
    wall_cameras: 'Cameras',
    wall_layouts_open: 'Video wall', wall_layouts_title: 'Video wall layouts',
    wall_layout_saved_list: 'Saved layouts', wall_layout_new: '— New layout —', wall_layout_name: 'Layout name',
    wall_layout_size: 'Tiles', wall_layout_save: 'Save layout', wall_layout_delete: 'Delete layout',
    wall_layout_open_wall: 'Open on the wall', wall_layout_empty_tile: '— Empty tile —',
    wall_layout_help: 'Drag a camera from the list onto a tile, or choose it in the tile. Drag a tile onto another to swap them.',
    wall_layout_saved: 'Layout “{name}” saved.', wall_layout_deleted: 'Layout “{name}” deleted.',
    wall_layout_delete_confirm: 'Delete layout “{name}”?', wall_layout_need_name: 'Give the layout a name.',
    wall_layout_by: 'Last saved by {user} at {time}', wall_layout_no_cameras: 'No cameras yet.',
    wall_layout_missing: 'gone or outside your areas', wall_layout_tile: 'Tile {n}', wall_layout_clear: 'Take the camera off the tile',
    camera_live: 'Live picture', camera_nearest: 'Nearest camera',
    cam_unsupported: 'This browser cannot play the camera\'s codec',
    cam_state_idle: 'Idle', cam_state_connecting: 'Connecting', cam_state_online: 'Online',
    cam_state_stalled: 'Stalled', cam_state_offline: 'Offline', cam_fps: 'fps',
    cam_frozen: 'Frozen picture', cam_dark: 'Dark picture', cam_stills: 'stills',
    wall_devices_offline: 'Offline',
    wall_clock: 'Time',
    ago_now: 'just now',
  },
};

const KEY = 'iochub.lang';
let lang = (() => {
  try { const v = localStorage.getItem(KEY); if (v === 'vi' || v === 'en') return v; } catch { /* private mode */ }
  return 'vi';
})();

export function getLang() { return lang; }
export function locale() { return lang === 'vi' ? 'vi-VN' : 'en-GB'; }

export function t(key) {
  return DICT[lang][key] ?? DICT.vi[key] ?? key;
}

/** An area's name with its level, as a sentence would say it: "phường Thục Phán" / "Thục Phán
 *  ward", "xã Bảo Lạc" / "Bảo Lạc commune"; the bare name for a level the dictionary lacks.
 *  `{ start: true }` capitalises it for the start of a line ("Phường Thục Phán"). */
export function areaName(props, { start = false } = {}) {
  const name = String(props?.name ?? props?.id ?? '');
  const pattern = DICT[lang][`area_${props?.level}`];
  const text = pattern ? pattern.replace('{name}', name) : name;
  return start ? text.charAt(0).toLocaleUpperCase(locale()) + text.slice(1) : text;
}

export function setLang(next) {
  if (next !== 'vi' && next !== 'en') return;
  lang = next;
  try { localStorage.setItem(KEY, lang); } catch { /* ignore */ }
  document.documentElement.lang = lang;
  applyI18n(document);
  appEvents.emit('langchange', lang);
}

export function toggleLang() { setLang(lang === 'vi' ? 'en' : 'vi'); }

export function applyI18n(root) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}

// Formatters are cached per language: creating Intl objects is slow and the ticker formats often.
const cache = new Map();
function fmt(kind, opts) {
  const k = `${lang}|${kind}`;
  let f = cache.get(k);
  if (!f) {
    f = kind.startsWith('n') ? new Intl.NumberFormat(locale(), opts) : new Intl.DateTimeFormat(locale(), opts);
    cache.set(k, f);
  }
  return f;
}

export function fmtNumber(v, digits = 2) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  const f = digits === 0 ? fmt('n0', { maximumFractionDigits: 0 })
    : digits === 1 ? fmt('n1', { maximumFractionDigits: 1 })
    : fmt('n2', { maximumFractionDigits: 2 });
  return f.format(v);
}
export function fmtInt(v) { return fmt('n0', { maximumFractionDigits: 0 }).format(v); }
export function fmtDateTime(d) {
  return fmt('dt', { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(d));
}
export function fmtTime(d) {
  return fmt('dtime', { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(d));
}
export function fmtDateLong(d) {
  return fmt('dlong', { weekday: 'long', day: '2-digit', month: '2-digit', year: 'numeric' }).format(new Date(d));
}

// Units: the hub sends SenML/UCUM-ish codes; show them the way people write them. A value
// without a unit takes its metric's from the hub's catalog (catalog.js), as do metric names and
// rule titles.
const UNIT = { Cel: '°C', '%RH': '%', 'ug/m3': 'µg/m³', 'm/s': 'm/s', hPa: 'hPa', m: 'm', mm: 'mm', '/': '' };
export function unitLabel(unit, metric) {
  const u = unit ?? metricInfo(metric)?.unit ?? '';
  return UNIT[u] ?? u;
}

export function metricLabel(metric) {
  return metricInfo(metric)?.label[lang] ?? metric;
}

/** A rule's span (seconds) as a person reads it: "72 giờ" / "72 h", "1 phút" / "1 min". */
function span(s) {
  if (!Number.isFinite(s)) return '';
  if (s % 3600 === 0) return `${fmtNumber(s / 3600)} ${t('span_h')}`;
  if (s % 60 === 0) return `${fmtNumber(s / 60)} ${t('span_min')}`;
  return `${fmtNumber(s)} ${t('span_s')}`;
}

/** What an alert's value measures: its metric, and for a rule over time how it is taken
 *  ("Lượng mưa · tổng 72 giờ", "Bụi PM2.5 · trung bình 1 giờ"); a silence in seconds. */
export function measureLabel(a) {
  const r = ruleInfo(a.rule);
  const metric = metricLabel(a.metric);
  switch (r?.kind) {
    case 'window': return `${metric} · ${t(`agg_${r.definition?.agg}`)} ${span(r.span_seconds)}`;
    case 'rate': return `${metric} · ${t('measure_change')} ${span(r.span_seconds)}`;
    case 'anomaly': return `${metric} · ${t('measure_anomaly')}`;
    case 'all': return `${metric} · ${t('measure_all')}`;
    case 'no_data': return t('measure_silence');
    default: return metric;
  }
}

/** The unit of an alert's value: the metric's, seconds for a silence, none for a count. */
export function measureUnit(a, unit) {
  const r = ruleInfo(a.rule);
  if (r?.kind === 'no_data') return t('span_s');
  if (r?.kind === 'window' && r.definition?.agg === 'count') return '';
  return unitLabel(unit, a.metric);
}

/** A rule's human title, by its kind (the id's prefix: flood-l3-…, pm25-…); else its id. */
export function ruleLabel(rule, severity) {
  return ruleTitle(rule)?.[lang] ?? (rule || t(severity));
}

export function relTime(ts) {
  const s = Math.round((Date.now() - new Date(ts).getTime()) / 1000);
  if (s < 5) return t('ago_now');
  const k = `${lang}|rtf`;
  let r = cache.get(k);
  if (!r) { r = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto', style: 'short' }); cache.set(k, r); }
  if (s < 60) return r.format(-s, 'second');
  if (s < 3600) return r.format(-Math.round(s / 60), 'minute');
  if (s < 86400) return r.format(-Math.round(s / 3600), 'hour');
  return r.format(-Math.round(s / 86400), 'day');
}
