// Languages: Vietnamese first (the glossary in docs/ARCHITECTURE.md, "Dashboard"), English as the alternative. Static labels carry
// data-i18n="key" (text), data-i18n-title / data-i18n-placeholder / data-i18n-aria (attributes);
// dynamic content is rendered with t() and re-rendered on appEvents' "langchange". The choice is kept
// in localStorage. Dates and numbers go through Intl in the chosen locale.

import { appEvents } from './events.js';
import { metricInfo, ruleTitle } from './catalog.js';

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
    open_alerts: 'Cảnh báo mới',
    no_alerts: 'Không có cảnh báo nào đang mở.',
    devices: 'Thiết bị',
    map: 'Bản đồ',
    severity: 'Mức độ',
    critical: 'Nghiêm trọng',
    warning: 'Cảnh báo',
    info: 'Thông tin',
    online: 'Trực tuyến',
    offline: 'Mất kết nối',
    state_open: 'Mới',
    state_resolved: 'Đã xử lý',
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
    open_alerts: 'Open alerts',
    no_alerts: 'No open alerts.',
    devices: 'Devices',
    map: 'Map',
    severity: 'Severity',
    critical: 'Critical',
    warning: 'Warning',
    info: 'Info',
    online: 'Online',
    offline: 'Offline',
    state_open: 'Open',
    state_resolved: 'Resolved',
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
